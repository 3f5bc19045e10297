import { describe, expect, it } from "vitest";
import { refKey, type RecordRef } from "../../../src/core/types.js";
import { openFresh, type ContractBackend } from "./backend.js";

const id = { source: "s", resource: "invoices" };
const other = { source: "s", resource: "other" };
const snap = (version: number) => ({ version, fingerprint: `f${version}`, json: `{"v":${version}}` });
const gone = (version: number) => ({ version, fingerprint: "", json: "", gone: true as const });

/** A response body of `n` records under `data.items`, pretty-printed as a vendor might. */
/** A page of `n` records under `data.items`, indented (each element parsed and written again) or `compact` (most taken as they are). */
function page(n: number, from = 1, compact = false): { bytes: Buffer; refs: RecordRef[]; items: Array<Record<string, unknown>> } {
  const items = Array.from({ length: n }, (_, i) => ({ id: from + i, number: `FV/${from + i}`, total: "12.50", lines: [{ name: "é ✓ \u2028 ' \\ \"", qty: 1.5 }] }));
  const body = JSON.stringify({ data: { items } }, null, compact ? undefined : 2);
  // Compact: a few elements written otherwise than JSON.stringify would (escapes, a number, spaces).
  const bytes = compact ? body.replace('"FV/2"', '"FV\\/2"').replace('"total":"12.50","lines"', '"total":"12.50" ,"lines"').replace('"qty":1.5}]},{"id":4,', '"qty":1.50}]},{"id":4,') : body;
  return { bytes: Buffer.from(bytes), refs: items.map((item) => ({ kind: null, id: String(item.id) })), items };
}

export function snapshotsContract(backend: ContractBackend): void {
  describe("snapshots", () => {
    it("stores snapshots with tombstones, revives, lists live refs, counts and clears", async () => {
      const { store, reopen } = await openFresh(backend);
      expect(await store.hasSnapshots(id)).toBe(false);
      await store.putSnapshots(id, [
        { kind: null, id: "1", snapshot: snap(1), fresh: true },
        { kind: "wz", id: "2", snapshot: { version: 3, fingerprint: "f2", json: '{"id":2,"t":"\\u0000 é"}' }, fresh: true },
        { kind: null, id: "3", snapshot: snap(1), fresh: true },
      ]);
      await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: gone(2) }]);
      expect(await store.hasSnapshots(id)).toBe(true);
      const snaps = await store.getSnapshots(id, [{ kind: null, id: "1" }, { kind: "wz", id: "2" }, { kind: null, id: "4" }]);
      expect(snaps.get("\u001f1")).toMatchObject({ version: 2, gone: true });
      expect(snaps.get("wz\u001f2")).toEqual({ version: 3, fingerprint: "f2", json: '{"id":2,"t":"\\u0000 é"}' });
      expect(snaps.has("\u001f4")).toBe(false);
      expect(new Set((await store.listSnapshotRefs(id)).map(refKey))).toEqual(new Set(["wz\u001f2", "\u001f3"]));
      expect(await store.countSnapshots(id)).toBe(2);
      expect(await store.countSnapshots(other)).toBe(0);
      // The record comes back.
      await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: snap(3), revived: true }]);
      await store.close();
      const again = await reopen();
      expect((await again.getSnapshots(id, [{ kind: null, id: "1" }])).get("\u001f1")).toEqual(snap(3));
      expect(await again.countSnapshots(id)).toBe(3);
      await again.putSnapshots(id, [{ kind: null, id: "3", snapshot: gone(2) }]);
      await again.clearResource(id);
      expect(await again.hasSnapshots(id)).toBe(false);
      expect(await again.countSnapshots(id)).toBe(0);
      expect((await again.getSnapshots(id, [{ kind: null, id: "1" }, { kind: null, id: "3" }])).size).toBe(0);
      await again.close();
    });

    it("a tombstone only: the resource has snapshots, none live", async () => {
      const { store } = await openFresh(backend);
      await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: gone(2) }]);
      expect(await store.hasSnapshots(id)).toBe(true);
      expect(await store.listSnapshotRefs(id)).toEqual([]);
      await store.close();
    });

    it("reads and writes hundreds of snapshots in one call", async () => {
      const { store } = await openFresh(backend);
      const refs = Array.from({ length: 1234 }, (_, i) => ({ kind: i % 2 ? "a" : null, id: String(i) }));
      await store.putSnapshots(id, refs.map((ref, i) => ({ ...ref, snapshot: snap(i + 1), fresh: true })));
      const found = await store.getSnapshots(id, [...refs, { kind: null, id: "nope" }]);
      expect(found.size).toBe(1234);
      expect(found.get(refKey(refs[777]!))).toEqual(snap(778));
      expect(await store.countSnapshots(id)).toBe(1234);
      await store.close();
    });

    it("marks every snapshot change but a first write with the write sequence, in the same transaction", async () => {
      const { store, reopen } = await openFresh(backend);
      await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: snap(1), fresh: true }, { kind: null, id: "2", snapshot: snap(1), fresh: true }]);
      expect(await store.snapshotSeq()).toBe(0);
      await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: snap(2) }]);
      await store.putSnapshots(other, [{ kind: null, id: "9", snapshot: snap(2) }]);
      await store.putSnapshots(id, [{ kind: null, id: "2", snapshot: gone(2) }]);
      expect(await store.snapshotSeq()).toBe(3);
      await store.putPageMarks(id, new Map([["page-a", 1], ["page-b", 3]]), false);
      await store.close();

      const again = await reopen();
      expect(await again.snapshotSeq()).toBe(3);
      expect(await again.getPageMarks(id)).toEqual({ pages: new Map([["page-a", 1], ["page-b", 3]]), changed: new Map([["\u001f1", 1], ["\u001f2", 3]]), seq: 3 });
      // An incremental listing adds pages and keeps the others.
      await again.putPageMarks(id, new Map([["page-a", 2]]), false);
      expect((await again.getPageMarks(id)).pages).toEqual(new Map([["page-a", 2], ["page-b", 3]]));
      // A complete listing keeps only its pages, and the change marks newer than the oldest of them.
      await again.putPageMarks(id, new Map([["page-b", 3], ["page-c", 2]]), true);
      expect(await again.getPageMarks(id)).toEqual({ pages: new Map([["page-b", 3], ["page-c", 2]]), changed: new Map([["\u001f2", 3]]), seq: 3 });
      expect((await again.getPageMarks(other)).changed).toEqual(new Map([["\u001f9", 2]]));
      await again.clearResource(id);
      expect(await again.getPageMarks(id)).toEqual({ pages: new Map(), changed: new Map(), seq: 3 });
      expect(await again.getResourceState(id)).toBeUndefined();
      await again.close();
    });

    it("clearing a resource drops its state and leaves other resources alone", async () => {
      const { store } = await openFresh(backend);
      await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: snap(1), fresh: true }]);
      await store.putSnapshots(other, [{ kind: null, id: "1", snapshot: snap(1), fresh: true }]);
      await store.putResourceState(id, { generation: "g", initialized: true, cursor: 5 });
      await store.putResourceState(other, { generation: "h", initialized: true, cursor: 6 });
      await store.clearResource(id);
      expect(await store.getResourceState(id)).toBeUndefined();
      expect(await store.getResourceState(other)).toMatchObject({ cursor: 6 });
      expect(await store.countSnapshots(other)).toBe(1);
      await store.close();
    });
  });

  describe("baseline writes", () => {
    for (const [size, compact] of [[3, false], [120, false], [3, true], [120, true]] as const) {
      it(`writes version 1 with no fingerprint and each element's JSON (${size} records, ${compact ? "compact" : "indented"} body)`, async () => {
        const { store } = await openFresh(backend);
        const { bytes, refs, items } = page(size, 1, compact);
        await store.putBaseline(id, { bytes, path: "data.items" }, refs);
        const stored = await store.getSnapshots(id, refs);
        expect(stored.size).toBe(size);
        refs.forEach((ref, index) => expect(stored.get(refKey(ref))).toEqual({ version: 1, fingerprint: "", json: JSON.stringify(items[index]) }));
        expect(await store.countSnapshots(id)).toBe(size);
        expect(await store.snapshotSeq()).toBe(0); // first writes need no change mark
        await store.close();
      });
    }

    for (const size of [3, 120]) {
      it(`overwrites records that already have a row, tombstones included, and writes the others (${size} records)`, async () => {
        const { store } = await openFresh(backend);
        const { bytes, refs, items } = page(size);
        await store.putSnapshots(id, [
          { kind: null, id: "1", snapshot: snap(4), fresh: true },
          { kind: null, id: "2", snapshot: gone(5), fresh: true },
        ]);
        await store.putBaseline(id, { bytes, path: "data.items" }, refs);
        const stored = await store.getSnapshots(id, refs);
        expect(stored.size).toBe(size);
        refs.forEach((ref, index) => expect(stored.get(refKey(ref))).toEqual({ version: 1, fingerprint: "", json: JSON.stringify(items[index]) }));
        expect(await store.countSnapshots(id)).toBe(size);
        await store.close();
      });
    }

    it("keeps many batches in order and commits them before the resource state is written and the store closes", async () => {
      const { store, reopen } = await openFresh(backend);
      for (let p = 0; p < 20; p += 1) {
        const { bytes, refs } = page(100, p * 100 + 1);
        await store.putBaseline(id, { bytes, path: "data.items" }, refs);
      }
      await store.putResourceState(id, { generation: "g", initialized: true });
      await store.close();
      const again = await reopen();
      expect(await again.countSnapshots(id)).toBe(2000);
      expect(await again.getResourceState(id)).toMatchObject({ initialized: true });
      await again.close();
    });

    it("fails the resource's next call when the body does not hold the records promised, and no other resource's", async () => {
      const { store } = await openFresh(backend);
      const { bytes, refs } = page(60);
      const wrote = store.putBaseline(id, { bytes, path: "data.items" }, [...refs, { kind: null, id: "61" }]);
      // Either at once or on the resource's next call; never silently.
      const failedAtOnce = await wrote.then(() => false, () => true);
      await expect(store.countSnapshots(other)).resolves.toBe(0);
      if (!failedAtOnce) await expect(store.putResourceState(id, { generation: "g", initialized: true })).rejects.toThrow(/61 records to write, 60 elements at "data.items"/);
      expect(await store.getResourceState(id)).toBeUndefined(); // the cursor did not move
      expect(await store.countSnapshots(id)).toBe(0); // all or nothing
      // Reported once: the resource goes on (a retried pass writes again).
      await store.putBaseline(id, { bytes, path: "data.items" }, refs);
      expect(await store.countSnapshots(id)).toBe(60);
      await store.close();
    });

    it("writes the same from bytes given away, and leaves bytes it was not given as they were", async () => {
      const { store } = await openFresh(backend);
      const given = page(120);
      await store.putBaseline(id, { bytes: given.bytes, path: "data.items", transferable: true }, given.refs);
      const kept = page(120, 121);
      const before = Buffer.from(kept.bytes);
      await store.putBaseline(id, { bytes: kept.bytes, path: "data.items" }, kept.refs);
      expect(kept.bytes.equals(before)).toBe(true);
      const stored = await store.getSnapshots(id, [...given.refs, ...kept.refs]);
      [...given.items, ...kept.items].forEach((item, index) => expect(stored.get(refKey([...given.refs, ...kept.refs][index]!))).toEqual({ version: 1, fingerprint: "", json: JSON.stringify(item) }));
      await store.close();
    });

    it("rejects a body that is not an array where promised", async () => {
      const { store } = await openFresh(backend);
      const { refs } = page(2);
      await expect(store.putBaseline(id, { bytes: Buffer.from('{"data":{}}'), path: "data.items" }, refs)).rejects.toThrow(/2 records to write, no array at "data.items"/);
      await store.close();
    });
  });
}
