import { afterAll, describe, expect, it } from "vitest";
import { quietLog } from "../chaos/lib/report.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { sourceFaults } from "../chaos/suites/source-faults.js";

/**
 * Rows "Source faults" of `npm run chaos`: every fault on incremental and reconcile passes, for
 * every source kind, through the pass pipeline in-process (a clock that skips waits, 300 ms
 * request timeouts). The daemon itself runs them in the chaos run.

 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("source faults (chaos rows, in-process)", () => {
  it("every source kind: no false deletes, no wrong cursor moves, clear failures, nothing lost, recovery", async () => {
    const results = await sourceFaults({ subjects: ["rest", "fakturownia", "facturascripts", "wfirma", "fakturoid"], driver: "in-process", sourceExtra: { timeout: "300ms" }, scratch, log: quietLog });
    for (const result of results) {
      expect(result.error, result.subject).toBeUndefined();
      expect(result.elsewhereHits, result.subject).toBe(0);
      expect(result.scenarios.length, result.subject).toBeGreaterThanOrEqual(29);
      for (const s of result.scenarios) {
        const where = `${result.subject} / ${s.fault} / ${s.mode}: ${s.problems.join("; ")}`;
        expect(s.faultHit, where).toBe(true);
        expect(s.falseDeletes, where).toBe(0);
        expect(s.wrongCursorMove, where).toBe(false);
        expect(s.lost, where).toEqual([]);
        expect(s.lostByIncremental, where).toEqual([]);
        expect(s.recovered, where).toBe(true);
        expect(s.problems.filter((p) => !p.startsWith("note:")), where).toEqual([]);
        if (s.expected === "fail") expect(s.failed && s.clear, where).toBe(true);
      }
    }
  }, 110_000);
});
