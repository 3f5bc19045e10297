import { describe, expect, it } from "vitest";
import { failNextAt } from "../../../src/testing/fault-injection.js";
import { fixedClock, item, openFresh, type ContractBackend } from "./backend.js";

const id = { source: "s", resource: "invoices" };
const snap = (version: number) => ({ version, fingerprint: `f${version}`, json: `{"v":${version}}` });

export function pageCommitContract(backend: ContractBackend): void {
  describe("a page's events with their snapshots (commitPage)", () => {
    it("writes the events, their deliveries and the snapshots (change marks included) in one call; known event ids are skipped", async () => {
      const { store, reopen } = await openFresh(backend, { clock: fixedClock(2_000) });
      const created = await store.commitPage(id, [item("e1", "s/invoices/\u001f1", ["a", "b"])], [{ kind: null, id: "1", snapshot: snap(1), fresh: true }]);
      expect(created.map((d) => [d.target, d.eventId, d.nextAttemptAt])).toEqual([["a", "e1", 2_000], ["b", "e1", 2_000]]);
      expect(await store.snapshotSeq()).toBe(0);
      // A change (not a first write) advances the write sequence and marks the record.
      await store.commitPage(id, [item("e2", "s/invoices/\u001f1", ["a"]), item("e1", "s/invoices/\u001f1", ["a"])], [{ kind: null, id: "1", snapshot: snap(2) }]);
      expect(await store.snapshotSeq()).toBe(1);
      // Events only, snapshots only, nothing.
      expect(await store.commitPage(id, [item("e3", "s/invoices/\u001f2", ["a"])], [])).toHaveLength(1);
      expect(await store.commitPage(id, [], [{ kind: null, id: "2", snapshot: snap(1), fresh: true }])).toEqual([]);
      expect(await store.commitPage(id, [], [])).toEqual([]);
      await store.close();
      const again = await reopen();
      expect((await again.listPending("a")).map((d) => d.eventId)).toEqual(["e1", "e2", "e3"]);
      expect((await again.getSnapshots(id, [{ kind: null, id: "1" }])).get("\u001f1")).toEqual(snap(2));
      expect(await again.countSnapshots(id)).toBe(2);
      expect((await again.getPageMarks(id)).changed.get("\u001f1")).toBe(1);
      await again.close();
    });

    it("staged: events held apart and snapshots journaled; released into the outbox in staging order, or discarded with every snapshot put back", async () => {
      const { store, reopen } = await openFresh(backend, { clock: fixedClock(3_000) });
      const other = { source: "s", resource: "other" };
      // Before the pass: 1 live, 2 a tombstone, 3 unknown.
      await store.commitPage(id, [], [{ kind: null, id: "1", snapshot: snap(1), fresh: true }, { kind: null, id: "2", snapshot: { version: 2, fingerprint: "", json: "", gone: true }, fresh: true }]);
      const seq = await store.snapshotSeq();
      const refs = ["1", "2", "3"].map((n) => ({ kind: null, id: n }));
      const before = await store.getSnapshots(id, refs);
      const stagePass = async (s: typeof store): Promise<void> => {
        expect(await s.commitPage(id, [item("e1", "s/invoices/\u001f1", ["a"])], [{ kind: null, id: "1", snapshot: snap(2) }], true)).toEqual([]);
        expect(await s.commitPage(id, [item("e3", "s/invoices/\u001f3", ["a"]), item("e2", "s/invoices/\u001f2", ["a"])], [{ kind: null, id: "3", snapshot: snap(1), fresh: true }, { kind: null, id: "2", snapshot: snap(3), revived: true }, { kind: null, id: "1", snapshot: snap(3) }], true)).toEqual([]);
        // Another resource's staging is its own.
        await s.commitPage(other, [item("o1", "s/other/\u001f1", ["a"])], [{ kind: null, id: "1", snapshot: snap(1), fresh: true }], true);
      };
      await stagePass(store);
      const stagedIds = async (): Promise<string[]> => (await store.stagedResources()).map((r) => `${r.source}/${r.resource}`).sort();
      expect(await stagedIds()).toEqual(["s/invoices", "s/other"]);
      // Snapshots journaled without an event count as staged too.
      await store.commitPage({ source: "t", resource: "quiet" }, [], [{ kind: null, id: "9", snapshot: snap(1) }], true);
      expect(await stagedIds()).toEqual(["s/invoices", "s/other", "t/quiet"]);
      await store.discardStaged({ source: "t", resource: "quiet" });
      expect(await stagedIds()).toEqual(["s/invoices", "s/other"]);
      expect(await store.listPending()).toEqual([]);
      expect(await store.hasEvent("e1")).toBe(false);
      // The pass sees its own writes.
      expect((await store.getSnapshots(id, refs)).get("\u001f1")).toEqual(snap(3));
      expect(await store.countSnapshots(id)).toBe(3);
      // A crash keeps the staging: a store opened again discards it.
      await store.close();
      const again = await reopen();
      expect(await again.discardStaged(id)).toBe(3);
      expect(await again.getSnapshots(id, refs)).toEqual(before);
      expect(await again.countSnapshots(id)).toBe(1);
      expect(await again.snapshotSeq()).toBeGreaterThan(seq);
      expect(await again.discardStaged(id)).toBe(0);
      expect(await again.releaseStaged(id)).toEqual({ deliveries: [], items: [] });
      expect(await again.listPending()).toEqual([]);
      // Staged again, then released: in the order staged, as an enqueue would write them.
      await again.releaseStaged(other);
      await stagePass(again);
      const released = await again.releaseStaged(id);
      expect(released.deliveries.map((d) => [d.eventId, d.nextAttemptAt])).toEqual([["e1", 3_000], ["e3", 3_000], ["e2", 3_000]]);
      expect(released.items.map((i) => i.event.envelope.id)).toEqual(["e1", "e3", "e2"]);
      expect((await again.listPending()).map((d) => d.eventId)).toEqual(["o1", "e1", "e3", "e2"]);
      expect(await again.hasEvent("e3")).toBe(true);
      // Released: nothing left to discard; the snapshots stay as the pass wrote them.
      expect(await again.discardStaged(id)).toBe(0);
      expect((await again.getSnapshots(id, refs)).get("\u001f2")).toEqual(snap(3));
      expect(await again.countSnapshots(id)).toBe(3);
      // clearResource drops a staging too.
      await again.commitPage(id, [item("e9", "s/invoices/\u001f9", ["a"])], [{ kind: null, id: "9", snapshot: snap(1), fresh: true }], true);
      await again.clearResource(id);
      expect(await again.releaseStaged(id)).toEqual({ deliveries: [], items: [] });
      await again.close();
    });

    for (const point of ["store:enqueue-before-commit", "store:snapshots-before-commit"]) {
      it(`a failure inside it (at ${point}) keeps neither the events nor the snapshots`, async () => {
        const { store, reopen } = await openFresh(backend);
        await store.commitPage(id, [item("e1", "s/invoices/\u001f1", ["a"])], [{ kind: null, id: "1", snapshot: snap(1), fresh: true }]);
        failNextAt(point);
        await expect(
          store.commitPage(id, [item("e2", "s/invoices/\u001f2", ["a"]), item("e3", "s/invoices/\u001f1", ["a"])], [{ kind: null, id: "2", snapshot: snap(1), fresh: true }, { kind: null, id: "1", snapshot: snap(2) }]),
        ).rejects.toThrow(`injected failure at ${point}`);
        const check = async (s: typeof store): Promise<void> => {
          expect(await s.hasEvent("e2")).toBe(false);
          expect(await s.hasEvent("e3")).toBe(false);
          expect((await s.listPending()).map((d) => d.eventId)).toEqual(["e1"]);
          expect(await s.listEventIdsForRecord("s/invoices/\u001f1")).toEqual(["e1"]);
          expect((await s.getSnapshots(id, [{ kind: null, id: "1" }, { kind: null, id: "2" }])).get("\u001f1")).toEqual(snap(1));
          expect(await s.countSnapshots(id)).toBe(1);
          expect(await s.snapshotSeq()).toBe(0);
        };
        await check(store);
        // The same write goes through afterwards, with the numbers it would have had.
        const created = await store.commitPage(id, [item("e2", "s/invoices/\u001f2", ["a"])], [{ kind: null, id: "1", snapshot: snap(2) }]);
        expect(created.map((d) => d.seq)).toEqual([2]);
        expect(await store.snapshotSeq()).toBe(1);
        await store.close();
        const again = await reopen();
        expect((await again.listPending()).map((d) => d.eventId)).toEqual(["e1", "e2"]);
        expect(await again.snapshotSeq()).toBe(1);
        await again.close();
      });
    }
  });
}
