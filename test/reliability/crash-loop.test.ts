import { afterAll, describe, expect, it } from "vitest";
import { quietLog } from "../chaos/lib/report.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { scanner } from "../chaos/lib/secrets.js";
import { crashLoop } from "../chaos/suites/crash-loop.js";

/** Row "Crash loop" of `npm run chaos`, small: a few SIGKILLs over a stream of changes. */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("crash loop (chaos row, small)", () => {
  it("after SIGKILLs at random moments and a clean run, every final state arrived; duplicates keep their id", async () => {
    const result = await crashLoop({ kills: 4, changes: 60, baselineRecords: 40, seed: 7, scratch, log: quietLog });
    const f = result.figures;
    expect(result.unexpectedExits).toEqual([]);
    expect(result.kills).toBe(4);
    expect(f.problems).toEqual([]);
    expect(f.lost).toBe(0);
    expect(f.finalStates).toBeGreaterThan(0);
    expect(f.splitIds).toBe(0);
    expect(f.inconsistent).toBe(0);
    expect(f.orderViolations).toBe(0);
    expect(f.badSignatures).toBe(0);
    expect(f.falseDeletes).toBe(0);
    expect(result.cleanExit).toBe(true);
    expect(scanner.leaks).toEqual([]);
  }, 110_000);
});
