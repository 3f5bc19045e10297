import { afterAll, describe, expect, it } from "vitest";
import { inProcessDriver } from "../chaos/lib/drivers.js";
import { startProxy } from "../chaos/lib/proxy.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { wfirmaSubject } from "../chaos/lib/subjects.js";
import { FAULTS } from "../chaos/suites/source-faults.js";

/**
 * Found by `npm run chaos` (source faults, wfirma, "pagination loop (page 2 repeats page 1)"):
 * key paging notices the repeat and falls back to the page-numbered scan, which does not: it
 * counts the repeated records towards `parameters.total`, stops, and the pass succeeds having
 * seen page 1 three times and the rest never (a reconcile then holds them as missing; an
 * incremental moves the cursor to the newest record it saw). A pagination loop fails the pass
 * (README, Guarantees).
 * Fixed in 93b9bac; this test keeps it fixed.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("wFirma and a list whose page 2 repeats page 1", () => {
  for (const mode of ["incremental", "reconcile"] as const) {
    it(`a ${mode} pass fails with "pagination loop"`, async () => {
      const subject = await wfirmaSubject();
      const proxy = await startProxy(subject.upstream);
      const driver = await inProcessDriver(subject.sourceConfig(proxy.url), scratch, "wfirma-loop");
      try {
        subject.round(subject.pageSize + 5);
        const before = await driver.cursors();
        proxy.arm(FAULTS.find((f) => f.name.startsWith("pagination loop"))!.rule(subject, "http://127.0.0.1:9"));
        const outcome = (await driver.pass(mode))[0]!;
        proxy.disarm();
        expect(outcome.ok).toBe(false);
        expect(outcome.error).toMatch(/pagination loop/);
        expect(await driver.cursors()).toEqual(before);
      } finally {
        await driver.close();
        await proxy.close();
        await subject.close();
      }
    }, 30_000);
  }
});
