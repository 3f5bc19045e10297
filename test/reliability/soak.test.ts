import { afterAll, describe, expect, it } from "vitest";
import { quietLog } from "../chaos/lib/report.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { soak } from "../chaos/suites/soak.js";

/**
 * Row "Soak" of `npm run chaos`, short: a high change rate for a few seconds, everything
 * delivered. The RSS figure needs the chaos run's minutes; here RSS is only reported.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("soak (chaos row, short)", () => {
  it("every change of a busy stretch is delivered, and the daemon stops cleanly", async () => {
    const result = await soak({ durationMs: 5000, baselineMs: 2500, rate: 40, reconcile: "*/2 * * * * *", scratch, log: quietLog });
    expect(result.figures.problems).toEqual([]);
    expect(result.figures.lost).toBe(0);
    expect(result.figures.inconsistent).toBe(0);
    expect(result.figures.finalStates).toBeGreaterThan(50);
    expect(result.cleanExit).toBe(true);
  }, 90_000);
});
