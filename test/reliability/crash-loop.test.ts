import { afterAll, describe, expect, it } from "vitest";
import { quietLog } from "../chaos/lib/report.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { scanner } from "../chaos/lib/secrets.js";
import { crashLoop, type CrashLoopResult } from "../chaos/suites/crash-loop.js";

/**
 * Rows "Crash loop" of `npm run chaos`, small and side by side: SIGKILLs at random moments over a
 * stream of changes, for the generic REST source and each vendor preset, then a clean run.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

function expectSound(result: CrashLoopResult): void {
  const f = result.figures;
  expect(result.unexpectedExits, result.world).toEqual([]);
  expect(f.problems, result.world).toEqual([]);
  expect(f.lost, result.world).toBe(0);
  expect(f.finalStates, result.world).toBeGreaterThan(0);
  expect(f.splitIds, result.world).toBe(0);
  expect(f.inconsistent, result.world).toBe(0);
  expect(f.orderViolations, result.world).toBe(0);
  expect(f.badSignatures, result.world).toBe(0);
  expect(f.falseDeletes, result.world).toBe(0);
  expect(result.cleanExit, result.world).toBe(true);
}

describe("crash loop (chaos rows, small)", () => {
  it("after SIGKILLs at random moments and a clean run, every final state arrived; duplicates keep their id", async () => {
    const results = await Promise.all([
      crashLoop({ world: "rest", kills: 4, changes: 60, baselineRecords: 40, seed: 7, scratch, log: quietLog }),
      ...["fakturownia", "facturascripts", "wfirma", "fakturoid"].map((world) => crashLoop({ world, kills: 2, changes: 30, baselineRecords: 60, seed: 11, scratch, log: quietLog })),
    ]);
    expect(results[0]!.kills).toBe(4);
    for (const result of results) expectSound(result);
    expect(scanner.leaks).toEqual([]);
  }, 110_000);
});
