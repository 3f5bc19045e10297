import { describe, expect, it } from "vitest";
import { PASS_HISTORY_LIMIT } from "../../../src/store/store.js";
import { openFresh, type ContractBackend } from "./backend.js";

export function passJournalContract(backend: ContractBackend): void {
  describe("pass journal", () => {
    it("keeps the last PASS_HISTORY_LIMIT passes per resource, oldest first, across a reopen", async () => {
      const { store, reopen } = await openFresh(backend);
      const id = { source: "s", resource: "invoices" };
      const other = { source: "s", resource: "clients" };
      const entry = (n: number) => ({ at: new Date(Date.UTC(2026, 10, 23) + n * 60_000).toISOString(), mode: "incremental" as const, listing: "incremental" as const, firstRun: n === 0, ok: true, records: 1, events: 0, baselined: 0, deleted: 0, listed: [`\u001f${n}`], listedAll: true });
      for (let n = 0; n < PASS_HISTORY_LIMIT + 5; n++) await store.appendPass(id, entry(n));
      await store.appendPass(other, entry(0));
      await store.close();
      const again = await reopen();
      const passes = await again.listPasses(id);
      expect(passes).toHaveLength(PASS_HISTORY_LIMIT);
      expect(passes[0]).toEqual(entry(5));
      expect(passes.at(-1)).toEqual(entry(PASS_HISTORY_LIMIT + 4));
      expect(await again.listPasses(other)).toEqual([entry(0)]);
      expect(await again.listPasses({ source: "t", resource: "invoices" })).toEqual([]);
      await again.close();
    });
  });
}
