import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import { startFakeRest, type FakeRest, type Item } from "../helpers/fake-rest.js";
import { MODIFIED_SINCE, passRunner, restResource, restSource, typesOf } from "../helpers/pass-harness.js";
import { snapshotReads } from "../helpers/snapshot-reads.js";
import { tempDir } from "../helpers/tmp.js";

/**
 * Page marks (docs/decisions/0007-page-marks.md): a page whose bytes were compared before is not
 * compared again while none of its records changed since — and every change is still found.
 */

let api: FakeRest;
let store: StateStore;
let url: string;
/** Records whose snapshots a pass read (each getSnapshots call's refs). */
let reads: string[];

beforeEach(async () => {
  api = await startFakeRest();
  url = `sqlite://${join(tempDir(), "state.sqlite")}`;
  store = await openStateStore(url);
  reads = snapshotReads(store);
  api.seed(250);
});
afterEach(async () => {
  await store.close();
  await api.close();
});

const items = restResource({ get: "/items/{id}", cursor: MODIFIED_SINCE });
const runner = (resource = items) => passRunner(() => store, restSource(api.url, api.token, [resource]));
/** A runner of `items` whose first (baseline) pass is done. */
async function afterBaseline(): Promise<ReturnType<typeof runner>> {
  const run = runner();
  await run.pass();
  return run;
}

describe("page marks", () => {
  it("do not compare the pages of an unchanged listing again, but compare a page with a change", async () => {
    const run = runner();
    expect((await run.pass()).outcomes[0]).toMatchObject({ ok: true, baselined: 250 });
    expect(reads).toEqual([]); // nothing stored yet: nothing to read

    reads.length = 0;
    const quiet = await run.pass("reconcile");
    expect(quiet.outcomes[0]).toMatchObject({ ok: true, records: 250, events: 0 });
    expect(reads).toEqual([]);

    api.update(150, { name: "changed" });
    const changed = await run.pass("reconcile");
    expect(typesOf(changed.events)).toEqual(["item.updated:150"]);
    // Only the second page (records 101–200) was compared.
    expect(reads).toHaveLength(100);
    expect(reads).toContain("150");
  });

  it("find a record changed back to bytes seen before (A → B → A)", async () => {
    const run = await afterBaseline();
    const original: Item = { ...api.items.get(5)! };
    api.update(5, { name: "B" });
    expect(typesOf((await run.pass()).events)).toEqual(["item.updated:5"]);
    // The first page is now byte for byte what the baseline compared.
    api.items.set(5, original);
    const back = await run.pass("reconcile");
    expect(typesOf(back.events)).toEqual(["item.updated:5"]);
    expect(back.events[0]!.data.object).toMatchObject({ name: "Item 5" });
    expect(back.events[0]!.data.previous).toMatchObject({ name: "B" });
    // Compared and written, the page stands as compared after that write: skipped next time.
    reads.length = 0;
    expect((await run.pass("reconcile")).events).toEqual([]);
    expect(reads).toEqual([]);
  });

  it("find a deleted record that comes back unchanged", async () => {
    const run = await afterBaseline();
    const original: Item = { ...api.items.get(7)! };
    api.remove(7);
    expect(typesOf((await run.pass("reconcile")).events)).toEqual(["item.deleted:7"]);
    api.items.set(7, original);
    expect(typesOf((await run.pass("reconcile")).events)).toEqual(["item.created:7"]);
  });

  it("are taken by a first pass followed by its catch-up listing (a list ordered by last change)", async () => {
    const run = runner(restResource({ query: { sort: "modified_desc" }, cursor: { field: "modified_at", order: "desc", type: "time", format: "iso" } }));
    await run.pass();
    reads.length = 0;
    expect((await run.pass("reconcile")).events).toEqual([]);
    expect(reads).toEqual([]);
  });

  it("count only under the config they were taken with", async () => {
    await runner().pass();
    reads.length = 0;
    const other = runner({ ...items, ignore_fields: ["modified_at"] });
    expect((await other.pass("reconcile")).events).toEqual([]);
    expect(reads).toHaveLength(250);
    reads.length = 0;
    expect((await other.pass("reconcile")).events).toEqual([]);
    expect(reads).toEqual([]);
  });

  it("keep only the pages of the last complete listing and the change marks still needed", async () => {
    const run = await afterBaseline();
    const id = { source: "legacy", resource: "items" };
    expect((await store.getPageMarks(id)).pages.size).toBe(3);

    api.update(10, { name: "x" });
    api.update(260 - 60, { name: "y" });
    await run.pass();
    const afterChanges = await store.getPageMarks(id);
    expect([...afterChanges.changed.keys()].sort()).toEqual(["\u001f10", "\u001f200"]);
    expect(afterChanges.pages.size).toBe(3); // an incremental listing adds no marks (they would pile up)

    for (let i = 1; i <= 20; i += 1) api.remove(i); // every page shifts: the old digests are gone
    expect((await run.pass("reconcile")).outcomes[0]).toMatchObject({ ok: true, deleted: 20 });
    const marks = await store.getPageMarks(id);
    expect(marks.pages.size).toBe(3);
    // The tombstones came after the pages were compared; the changes before them are dropped.
    expect(marks.changed.size).toBe(20);
    expect(marks.changed.has("\u001f10")).toBe(true);
    expect(marks.changed.has("\u001f200")).toBe(false);
    await run.pass("reconcile");
    expect((await store.getPageMarks(id)).changed.size).toBe(0);

    await store.clearResource(id);
    const cleared = await store.getPageMarks(id);
    expect([cleared.pages.size, cleared.changed.size]).toEqual([0, 0]);
  });

  it("survive a restart: a new store handle skips what the old one compared", async () => {
    const run = await afterBaseline();
    await store.close();
    store = await openStateStore(url);
    reads = snapshotReads(store);
    api.update(3, { name: "after restart" });
    expect(typesOf((await run.pass("reconcile")).events)).toEqual(["item.updated:3"]);
    expect(reads).toHaveLength(100);
  });
});
