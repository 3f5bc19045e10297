import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { MODIFIED_SINCE, passRunner, restResource, restSource, typesOf } from "../helpers/pass-harness.js";
import { tempDir } from "../helpers/tmp.js";

let api: FakeRest;
let store: StateStore;
let url: string;

beforeEach(async () => {
  api = await startFakeRest();
  url = `sqlite://${join(tempDir(), "state.sqlite")}`;
  store = await openStateStore(url);
});
afterEach(async () => {
  await store.close();
  await api.close();
});

const withRules = restResource({
  cursor: MODIFIED_SINCE,
  get: "/items/{id}",
  paid: { field: "status", to: "paid" },
  transitions: [{ event: "approved", field: "approval", to: "yes" }],
});

describe("a pass over a generic REST source", () => {
  it("baselines silently, then reports each change exactly once, also across restarts", async () => {
    for (let i = 0; i < 4; i += 1) api.create();
    const config = restSource(api.url, api.token, [withRules]);
    const run = passRunner(() => store, config);

    const baseline = await run.pass();
    expect(baseline.outcomes[0]).toMatchObject({ ok: true, baselined: 4, events: 0 });

    const created = api.create({ name: "new" });
    api.update(1, { name: "renamed" });
    api.update(2, { status: "paid" });
    api.update(3, { approval: "yes" });
    const changes = await run.pass();
    expect(typesOf(changes.events)).toEqual([
      "item.updated:1",
      "item.updated:2",
      "item.paid:2",
      "item.updated:3",
      "item.approved:3",
      `item.created:${created.id}`,
    ]);
    const renamed = changes.events[0]!;
    expect(renamed.data.previous).toEqual({ name: "Item 1", modified_at: expect.any(String) });
    expect(renamed).toMatchObject({ source: "legacy", resource: "items", kind: null, record_id: "1" });
    expect(changes.events.find((e) => e.type === "item.created")!.data.previous).toBeUndefined();

    expect((await run.pass()).events).toEqual([]);

    // Restart: new store handle and a new source between passes.
    await store.close();
    store = await openStateStore(url);
    expect((await run.pass()).events).toEqual([]);
    api.remove(4);
    const reconcile = await run.pass("reconcile");
    expect(typesOf(reconcile.events)).toEqual(["item.deleted:4"]);
    expect(reconcile.events[0]!.data.object).toMatchObject({ id: 4, name: "Item 4" });
    expect((await run.pass("reconcile")).events).toEqual([]);
  });

  it("emits created for everything with start: backfill, and by created_field with start: since", async () => {
    api.create({ created_at: "2026-01-01T00:00:00Z" });
    api.create({ created_at: "2026-11-01T00:00:00Z", status: "paid" });
    const backfill = passRunner(() => store, restSource(api.url, api.token, [withRules], { start: { mode: "backfill" } }));
    expect(typesOf((await backfill.pass()).events)).toEqual(["item.created:1", "item.created:2", "item.paid:2"]);

    const other = await openStateStore(`sqlite://${join(tempDir(), "s2.sqlite")}`);
    const since = passRunner(() => other, restSource(api.url, api.token, [{ ...withRules, created_field: "created_at" }], { start: { mode: "since", since: "2026-06-01" } }));
    expect(typesOf((await since.pass()).events)).toEqual(["item.created:2", "item.paid:2"]);
    await other.close();
  });

  it("ignores ignore_fields and key order", async () => {
    api.create({ view_url: "a" });
    const run = passRunner(() => store, restSource(api.url, api.token, [{ ...withRules, ignore_fields: ["view_url", "modified_at"] }]));
    await run.pass();
    const item = api.items.get(1)!;
    api.items.set(1, { ...item, view_url: "b" });
    expect((await run.pass("reconcile")).events).toEqual([]);
    const reordered = Object.fromEntries(Object.entries(api.items.get(1)!).reverse()) as typeof item;
    api.items.set(1, reordered);
    expect((await run.pass("reconcile")).events).toEqual([]);
  });
});

describe("a first scan over a list ordered by last change", () => {
  it("baselines a record edited while the scan ran (it moved to a page already read), instead of a later created", async () => {
    api.seed(250);
    const descending = restResource({ query: { sort: "modified_desc" }, cursor: { field: "modified_at", order: "desc", type: "time", format: "iso" }, pagination: { style: "page", page_param: "page", size_param: "per_page", size: 50, first_page: 1 } });
    const run = passRunner(() => store, restSource(api.url, api.token, [descending]));
    // While page 2 is served, the oldest record (on page 5) is edited and jumps to page 1.
    let edited = false;
    api.onList = (page) => {
      if (page === 2 && !edited) {
        edited = true;
        api.update(1, { name: "edited during the baseline" });
      }
    };
    const first = await run.pass();
    expect(edited).toBe(true);
    expect(first.outcomes[0]).toMatchObject({ ok: true, events: 0, baselined: 250 });
    api.onList = undefined;

    expect((await run.pass()).events).toEqual([]);
    api.update(1, { name: "edited again" });
    expect(typesOf((await run.pass()).events)).toEqual(["item.updated:1"]);
  });
});

describe("cursor modes", () => {
  const modes = {
    parameter: restResource({ cursor: MODIFIED_SINCE }),
    descending: restResource({ query: { sort: "modified_desc" }, cursor: { field: "modified_at", order: "desc", type: "time", format: "iso" } }),
    "serial id": restResource({ query: { sort: "id_asc" }, cursor: { field: "id", param: "id_gt", type: "id", format: "iso" } }),
  };

  for (const [mode, resource] of Object.entries(modes)) {
    it(`${mode}: finds changes in 10,000 records with at most 2 list requests`, async () => {
      api.seed(10_000);
      const run = passRunner(() => store, restSource(api.url, api.token, [resource]));
      await run.pass();
      api.tick(60 * 60_000);
      const before = api.listRequests();
      const a = api.create();
      const b = api.create();
      const c = api.create();
      if (mode !== "serial id") api.update(5, { status: "paid" });
      const result = await run.pass();
      expect(api.listRequests() - before).toBeLessThanOrEqual(2);
      const expected = [`item.created:${a.id}`, `item.created:${b.id}`, `item.created:${c.id}`];
      if (mode !== "serial id") expected.push("item.updated:5");
      expect(typesOf(result.events).sort()).toEqual(expected.sort());
      // Overlap re-read: the same window again produces nothing.
      expect((await run.pass()).events).toEqual([]);
    });
  }

  it("catches a list not sorted as declared and scans completely", async () => {
    for (let i = 0; i < 5; i += 1) api.create();
    const run = passRunner(() => store, restSource(api.url, api.token, [modes.descending]));
    await run.pass();
    api.tick(60 * 60_000);
    api.unsorted = true;
    api.update(1, { name: "x" });
    api.create();
    const result = await run.pass();
    expect(result.outcomes[0]!.warnings.join(" ")).toMatch(/not sorted/);
    expect(typesOf(result.events)).toEqual(["item.updated:1", "item.created:6"]);
  });
});
