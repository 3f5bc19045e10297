import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { refKey, type RecordRef } from "../../src/core/types.js";
import { openStateStore } from "../../src/store/sqlite-store.js";
import { tempDir } from "../helpers/tmp.js";

/**
 * StateStore.putBaseline: first snapshots written from a response's bytes — on the writer's
 * thread for large batches, inline for small ones — with the same texts change detection
 * would store, and every later read or write of the resource waiting for them.
 */

const id = { source: "s", resource: "invoices" };
const other = { source: "s", resource: "other" };

/** A response body of `n` records under `data.items`, pretty-printed as a vendor might. */
function page(n: number, from = 1): { bytes: Buffer; refs: RecordRef[]; items: Array<Record<string, unknown>> } {
  const items = Array.from({ length: n }, (_, i) => ({ id: from + i, number: `FV/${from + i}`, total: "12.50", lines: [{ name: "é ✓ \u2028", qty: 1.5 }] }));
  return { bytes: Buffer.from(JSON.stringify({ data: { items } }, null, 2)), refs: items.map((item) => ({ kind: null, id: String(item.id) })), items };
}

describe("putBaseline", () => {
  for (const size of [3, 120]) {
    it(`writes version 1 with no fingerprint and each element's JSON (${size} records, ${size >= 50 ? "writer thread" : "inline"})`, async () => {
      const store = await openStateStore(`sqlite://${join(tempDir(), "s.sqlite")}`);
      const { bytes, refs, items } = page(size);
      await store.putBaseline(id, { bytes, path: "data.items" }, refs);
      const stored = await store.getSnapshots(id, refs);
      expect(stored.size).toBe(size);
      refs.forEach((ref, index) => expect(stored.get(refKey(ref))).toEqual({ version: 1, fingerprint: "", json: JSON.stringify(items[index]) }));
      expect(await store.countSnapshots(id)).toBe(size);
      expect(await store.snapshotSeq()).toBe(0); // first writes need no change mark
      await store.close();
    });
  }

  it("keeps many batches in order and commits them before the resource state is written and the store closes", async () => {
    const file = join(tempDir(), "s.sqlite");
    const store = await openStateStore(`sqlite://${file}`);
    for (let p = 0; p < 20; p += 1) {
      const { bytes, refs } = page(100, p * 100 + 1);
      await store.putBaseline(id, { bytes, path: "data.items" }, refs);
    }
    await store.putResourceState(id, { generation: "g", initialized: true });
    await store.close();
    const reopened = await openStateStore(`sqlite://${file}`);
    expect(await reopened.countSnapshots(id)).toBe(2000);
    expect(await reopened.getResourceState(id)).toMatchObject({ initialized: true });
    await reopened.close();
  });

  it("fails the resource's next call when the body does not hold the records promised, and no other resource's", async () => {
    const store = await openStateStore(`sqlite://${join(tempDir(), "s.sqlite")}`);
    const { bytes, refs } = page(60);
    await store.putBaseline(id, { bytes, path: "data.items" }, [...refs, { kind: null, id: "61" }]);
    await expect(store.countSnapshots(other)).resolves.toBe(0);
    await expect(store.putResourceState(id, { generation: "g", initialized: true })).rejects.toThrow(/cannot write the baseline: baseline of s\/invoices\/: 61 records to write, 60 elements at "data.items"/);
    expect(await store.getResourceState(id)).toBeUndefined(); // the cursor did not move
    expect(await store.countSnapshots(id)).toBe(0); // all or nothing
    // Reported once: the resource goes on (a retried pass writes again).
    await store.putBaseline(id, { bytes, path: "data.items" }, refs);
    expect(await store.countSnapshots(id)).toBe(60);
    await store.close();
  });

  it("rejects a body that is not an array where promised", async () => {
    const store = await openStateStore("sqlite::memory:");
    const { refs } = page(2);
    await expect(store.putBaseline(id, { bytes: Buffer.from('{"data":{}}'), path: "data.items" }, refs)).rejects.toThrow(/2 records to write, no array at "data.items"/);
    await store.close();
  });
});
