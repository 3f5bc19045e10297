import { afterAll, describe, expect, it } from "vitest";
import { inProcessRunner } from "../chaos/lib/once.js";
import { quietLog } from "../chaos/lib/report.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { scanner } from "../chaos/lib/secrets.js";
import { TARGET_CASES, targetFaults } from "../chaos/suites/target-faults.js";
import { opensslAvailable } from "../chaos/lib/tls-receiver.js";

/** Row "Target faults" of `npm run chaos`: each receiver fault through `retrohook once` (in-process). */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("target faults (chaos row)", () => {
  it("each outcome is the design's; after the fault every event arrives under its first id", async () => {
    const results = await targetFaults({ run: inProcessRunner, scratch, log: quietLog });
    expect(results.map((r) => r.name)).toEqual(TARGET_CASES.filter((c) => !c.tls || opensslAvailable()).map((c) => c.name));
    for (const r of results) {
      expect(r.problems, r.name).toEqual([]);
      expect(r.outcome, r.name).toBe(r.expected);
      expect(r.deliveredAfter && r.sameId && r.signatureOk, r.name).toBe(true);
    }
    expect(scanner.leaks).toEqual([]);
  }, 60_000);
});
