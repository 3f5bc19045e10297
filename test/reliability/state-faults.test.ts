import { afterAll, describe, expect, it } from "vitest";
import { mountSupport } from "../chaos/lib/mounts.js";
import { inProcessRunner } from "../chaos/lib/once.js";
import { quietLog } from "../chaos/lib/report.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { stateFaults, type StateFaultResult } from "../chaos/suites/state-faults.js";

/**
 * Rows "State faults" of `npm run chaos` through `retrohook once` (in-process). The read-only
 * mount and the full tmpfs need root with CAP_SYS_ADMIN; without it those two are skipped
 * (the reason is printed).
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());
const mounts = mountSupport();
if (!mounts.ok) process.stderr.write(`state faults: read-only and disk-full cases skipped: ${mounts.reason}\n`);

describe("state faults (chaos rows)", () => {
  let results: StateFaultResult[] = [];
  it("runs every state fault", async () => {
    results = await stateFaults({ run: inProcessRunner, scratch, log: quietLog, daemon: false });
    expect(results.length).toBe(4);
  }, 60_000);

  for (const name of ["state on a read-only mount", "disk full (16 MB tmpfs filled up), between runs", "corrupted SQLite file (garbage header)", "corrupted SQLite file (garbage pages after the header)"]) {
    const needsMount = !name.startsWith("corrupted");
    it.skipIf(needsMount && !mounts.ok)(`${name}: reported, state as it was, nothing lost, recovered`, () => {
      const r = results.find((x) => x.name === name)!;
      expect(r.ran).toBe(true);
      expect(r.problems.filter((p) => !p.startsWith("note:"))).toEqual([]);
      expect(r.reported).toBe(true);
      expect(r.exits[0]).toBe("once 1");
      expect(r.stateUnchanged).toBe(true);
      expect(r.nothingLost).toBe(true);
      expect(r.recovered).toBe(true);
      if (r.fileUntouched !== undefined) expect(r.fileUntouched).toBe(true);
    });
  }
});
