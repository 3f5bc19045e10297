import { describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import type { EnqueueItem, StateStore } from "../../src/store/store.js";
import { MODIFIED_SINCE, fakeRestWithStore, passRunner, restResource, restSource, typesOf } from "../helpers/pass-harness.js";

const t = fakeRestWithStore();

const resource = restResource({ cursor: MODIFIED_SINCE, ignore_fields: ["modified_at"] });
const id = { source: "legacy", resource: "items" };

describe("event ids", () => {
  it("a failed page write keeps nothing; the next pass detects the change once, under the same id", async () => {
    t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource]));
    await run.pass();
    t.api.update(1, { status: "paid" });
    const attempted: string[] = [];
    const failing: StateStore = Object.create(t.store, {
      commitPage: {
        value: async (_id: unknown, items: EnqueueItem[]) => {
          attempted.push(...items.map((item) => item.event.envelope.id));
          throw new Error("simulated failure");
        },
      },
    }) as StateStore;
    const failed = await passRunner(() => failing, restSource(t.api.url, t.api.token, [resource])).pass();
    expect(failed.outcomes[0]!.ok).toBe(false);
    expect(await t.store.listPending()).toHaveLength(0);
    const retried = await run.pass();
    expect(typesOf(retried.events)).toEqual(["item.updated:1"]);
    expect(await t.store.listPending()).toHaveLength(1);
    // Ids do not depend on the attempt (the receiver dedupes a change by it).
    expect(attempted).toEqual([retried.events[0]!.id]);
  });

  it("A→B→A→B yields three distinct ids", async () => {
    t.api.create({ status: "A" });
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource]));
    await run.pass();
    for (const status of ["B", "A", "B"]) {
      t.api.update(1, { status });
      await run.pass();
    }
    const ids = run.events.map((e) => e.id);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  it("never reuse an old id after a reset of the resource", async () => {
    t.api.create({ status: "A" });
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource], { start: { mode: "backfill" } }));
    await run.pass();
    t.api.update(1, { status: "B" });
    await run.pass();
    const before = new Set(run.events.map((e) => e.id));
    await t.store.clearResource(id);
    t.api.update(1, { status: "A" });
    await run.pass();
    t.api.update(1, { status: "B" });
    await run.pass();
    const after = run.events.slice(before.size).map((e) => e.id);
    expect(after.length).toBeGreaterThan(0);
    for (const eventId of after) expect(before.has(eventId)).toBe(false);
  });

  it("differ between state files (random epoch)", async () => {
    t.api.create();
    const other = await openStateStore("sqlite::memory:");
    const a = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource], { start: { mode: "backfill" } }));
    const b = passRunner(() => other, restSource(t.api.url, t.api.token, [resource], { start: { mode: "backfill" } }));
    await a.pass();
    await b.pass();
    expect(a.events[0]!.id).not.toBe(b.events[0]!.id);
    await other.close();
  });
});

describe("deletions", () => {
  it("one record deleted among four is reported (confirmed by the single-record GET)", async () => {
    for (let i = 0; i < 4; i += 1) t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [{ ...resource, get: "/items/{id}" }]));
    await run.pass();
    t.api.remove(2);
    expect(typesOf((await run.pass()).events)).toEqual([]); // incremental passes never delete
    expect(typesOf((await run.pass("reconcile")).events)).toEqual(["item.deleted:2"]);
  });

  it("30 of 100 deleted at once are held, shown in state, not emitted", async () => {
    for (let i = 0; i < 100; i += 1) t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [{ ...resource, get: "/items/{id}" }]));
    await run.pass();
    for (let i = 1; i <= 30; i += 1) t.api.remove(i);
    const result = await run.pass("reconcile");
    expect(result.events).toEqual([]);
    expect(result.outcomes[0]!.held).toBe(30);
    expect(result.outcomes[0]!.warnings.join()).toMatch(/--accept-deletes/);
    const state = await t.store.getResourceState(id);
    expect(state?.held?.records).toHaveLength(30);
    expect(await t.store.countSnapshots(id)).toBe(100);
  });

  it("a reconcile stopped part-way through confirming deletions keeps those it confirmed; the next one confirms the rest", async () => {
    for (let i = 0; i < 200; i += 1) t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [{ ...resource, get: "/items/{id}" }]));
    await run.pass();
    for (let i = 1; i <= 30; i += 1) t.api.remove(i * 5);
    // The vendor's single-record GET breaks after 30 answers (probes included), for good.
    let gets = 0;
    t.api.injectFault({ fault: { type: "status", status: 500 }, times: Infinity, match: (request) => /^\/items\/\d+$/.test(request.path) && ++gets > 30 });
    const stopped = await run.pass("reconcile");
    expect(stopped.outcomes[0]!.ok).toBe(false);
    const kept = typesOf(stopped.events);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(30);
    expect((await t.store.listPending()).length).toBe(kept.length);
    t.api.clearFaults();
    const rest = typesOf((await run.pass("reconcile")).events);
    expect([...kept, ...rest].sort()).toEqual(Array.from({ length: 30 }, (_, i) => `item.deleted:${(i + 1) * 5}`).sort());
  });

  it("deletions that pile up over reconciles stopped before confirming them are not held as one mass deletion; a sudden mass still is", async () => {
    for (let i = 0; i < 100; i += 1) t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [{ ...resource, get: "/items/{id}" }]));
    await run.pass();
    // Six reconciles, 5 more records gone before each, each stopped (the single-record GET
    // fails) before it confirmed anything: 30 of 100 missing in the end, never more than 5 new.
    t.api.injectFault({ fault: { type: "status", status: 500 }, times: Infinity, match: (request) => /^\/items\/\d+$/.test(request.path) });
    for (let round = 0; round < 6; round += 1) {
      for (let i = 1; i <= 5; i += 1) t.api.remove(round * 5 + i);
      const stopped = await run.pass("reconcile");
      expect(stopped.outcomes[0]!.ok).toBe(false);
      expect(stopped.outcomes[0]!.held ?? 0).toBe(0);
    }
    t.api.clearFaults();
    const confirmed = await run.pass("reconcile");
    expect(confirmed.outcomes[0]!.held ?? 0).toBe(0);
    expect(typesOf(confirmed.events).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `item.deleted:${i + 1}`).sort());
    // 30 of the 70 left vanish at once: held, and still held at the next reconcile.
    for (let i = 31; i <= 60; i += 1) t.api.remove(i);
    for (let round = 0; round < 2; round += 1) {
      const held = await run.pass("reconcile");
      expect(held.events).toEqual([]);
      expect(held.outcomes[0]!.held).toBe(30);
    }
    expect((await t.store.getResourceState(id))?.held?.records).toHaveLength(30);
  });

  it("a wrong single-record URL template never confirms anything", async () => {
    for (let i = 0; i < 4; i += 1) t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [{ ...resource, get: "/nope/{id}" }]));
    await run.pass();
    t.api.remove(2);
    expect((await run.pass("reconcile")).events).toEqual([]);
    expect((await t.store.getResourceState(id))?.missing).toBeDefined();
    // Without a usable GET, a record missing from two consecutive reconciles is deleted.
    expect(typesOf((await run.pass("reconcile")).events)).toEqual(["item.deleted:2"]);
  });

  it("a record that comes back after deletion continues its versions (new ids)", async () => {
    t.api.create();
    t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [{ ...resource, get: "/items/{id}" }], { start: { mode: "backfill" } }));
    await run.pass();
    const item = t.api.items.get(1)!;
    t.api.remove(1);
    await run.pass("reconcile");
    t.api.items.set(1, item);
    await run.pass("reconcile");
    expect(typesOf(run.events)).toEqual(["item.created:1", "item.created:2", "item.deleted:1", "item.created:1"]);
    expect(new Set(run.events.map((e) => e.id)).size).toBe(4);
  });
});
