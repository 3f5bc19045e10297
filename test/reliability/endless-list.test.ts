import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { passBounds, PASS_BOUND_FIRST, PASS_BOUND_FLOOR } from "../../src/core/pass-bounds.js";
import { Scheduler } from "../../src/pipeline/scheduler.js";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { ManualClock } from "../../src/clock.js";
import type { Routing } from "../../src/core/routing.js";
import type { EventEnvelope } from "../../src/core/types.js";
import { runSourcePass } from "../../src/pipeline/poll-pass.js";
import type { RoutingOutcome } from "../../src/pipeline/route-events.js";
import { createSource } from "../../src/sources/registry.js";
import { passRunner, restResource, restSource, typesOf } from "../helpers/pass-harness.js";
import { NEVER, startDaemon } from "../server/harness.js";

/**
 * #27 item 8: a vendor that answers every page with fresh records and a fresh `next` kept a pass
 * going until the disk filled (24,085 requests and a 689 MB state file in 40 s). A pass is now
 * bounded in pages and records; past a bound it fails naming the bound and the key to raise,
 * keeps nothing it read, and the resource's cursor stays where it was.
 */

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Endless {
  url: string;
  requests: number;
  /** From this page on the list never ends (before it, `next` ends at page `endAt`). */
  endless: boolean;
  endAt: number;
  /** Names given to records instead of `r<id>` (a real edit). */
  names: Record<number, string>;
}

/** `GET /items?cursor=N`: ten records N*10…N*10+9 and `next` = N+1, forever while `endless`. */
async function startEndless(): Promise<Endless> {
  const state: Endless = { url: "", requests: 0, endless: true, endAt: 3, names: {} };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    const n = Number(new URL(req.url ?? "/", "http://x").searchParams.get("cursor") ?? 0);
    const data = Array.from({ length: 10 }, (_, i) => ({ id: n * 10 + i, name: state.names[n * 10 + i] ?? `r${n * 10 + i}`, updated_at: "2026-01-01T00:00:00Z" }));
    const last = !state.endless && n + 1 >= state.endAt;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ data, next: last ? null : String(n + 1) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
  return state;
}

function endlessSource(url: string, bounds: { max_pass_pages?: number; max_pass_records?: number } = {}, sourceBounds: { max_pass_pages?: number; max_pass_records?: number } = {}) {
  const resource = restResource({ records: "data", pagination: { style: "next", next: "next", token_param: "cursor" }, ...bounds });
  return restSource(url, "t", [resource], sourceBounds);
}

async function freshStore(): Promise<StateStore> {
  const store = await openStateStore("sqlite::memory:");
  cleanup.push(() => store.close());
  return store;
}

/** A resource of 30 records listed completely once (`max_pass_pages: 10`), with its snapshots then. */
async function afterCompleteListing() {
  const api = await startEndless();
  api.endless = false;
  const store = await freshStore();
  const runner = passRunner(() => store, endlessSource(api.url, { max_pass_pages: 10 }));
  expect((await runner.pass("reconcile")).outcomes[0]!.ok).toBe(true);
  const id = { source: "legacy", resource: "items" };
  const refs = Array.from({ length: 120 }, (_, i) => ({ kind: null, id: String(i) }));
  return { api, store, runner, id, refs, before: await store.getSnapshots(id, refs) };
}

describe("a list that never ends", () => {
  it("a first pass stops at max_pass_pages, names the bound and the key to raise, and keeps nothing", async () => {
    const api = await startEndless();
    const store = await freshStore();
    const runner = passRunner(() => store, endlessSource(api.url, { max_pass_pages: 40 }));
    const { outcomes } = await runner.pass("incremental");
    const outcome = outcomes[0]!;
    expect(outcome.ok).toBe(false);
    expect(outcome.cause).toBe("pass-bound");
    expect(outcome.error).toMatch(/went past 40 pages in one pass \(max_pass_pages, configured\)/);
    expect(outcome.error).toMatch(/raise sources\[legacy\]\.resources\[items\]\.max_pass_pages/);
    expect(api.requests).toBeLessThanOrEqual(42);
    // Nothing of the failed pass is kept: no snapshot, no event, no cursor, not initialised.
    const id = { source: "legacy", resource: "items" };
    expect(await store.countSnapshots(id)).toBe(0);
    expect(await store.listPending()).toEqual([]);
    expect(runner.events).toEqual([]);
    const state = await store.getResourceState(id);
    expect(state?.initialized ?? false).toBe(false);
    expect(state?.cursor).toBeUndefined();
    expect(state?.lastError?.message).toMatch(/max_pass_pages/);
  });

  it("max_pass_records bounds records, set on the source for all its resources", async () => {
    const api = await startEndless();
    const store = await freshStore();
    const runner = passRunner(() => store, endlessSource(api.url, {}, { max_pass_records: 95 }));
    const outcome = (await runner.pass("reconcile")).outcomes[0]!;
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/went past 95 records in one pass \(max_pass_records, configured\)/);
    expect(outcome.error).toMatch(/raise max_pass_records \(on the resource, or the source/);
    expect(api.requests).toBeLessThanOrEqual(11);
    expect(await store.countSnapshots({ source: "legacy", resource: "items" })).toBe(0);
  });

  it("after a complete listing, a later pass that never ends fails at the derived bound and the cursor stays", async () => {
    const api = await startEndless();
    api.endless = false;
    const store = await freshStore();
    const runner = passRunner(() => store, endlessSource(api.url));
    expect((await runner.pass("reconcile")).outcomes[0]!.ok).toBe(true);
    const id = { source: "legacy", resource: "items" };
    const before = await store.getResourceState(id);
    expect(before?.lastComplete).toEqual({ pages: 3, records: 30 });
    api.endless = true;
    api.requests = 0;
    const outcome = (await runner.pass("reconcile")).outcomes[0]!;
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(new RegExp(`went past ${PASS_BOUND_FLOOR.pages.toLocaleString("en-US")} pages .*the last complete listing's 3`));
    expect(api.requests).toBeLessThanOrEqual(PASS_BOUND_FLOOR.pages + 2);
    const after = await store.getResourceState(id);
    expect(after?.cursor).toEqual(before?.cursor);
    expect(after?.lastComplete).toEqual({ pages: 3, records: 30 });
    expect(after?.lastError?.message).toMatch(/max_pass_pages/);
  }, 60_000);

  for (const mode of ["reconcile", "incremental"] as const) {
    it(`a later ${mode} pass past its bound keeps nothing of itself: no event, snapshots as before; the next pass reports exactly the real change`, async () => {
      const { api, store, runner, id, refs, before } = await afterCompleteListing();
      expect(before.size).toBe(30);
      // A real edit, then a vendor inventing records page after page.
      api.names[5] = "renamed";
      api.endless = true;
      const failedRun = await runner.pass(mode);
      const failed = failedRun.outcomes[0]!;
      expect(failed.ok).toBe(false);
      expect(failed.cause).toBe("pass-bound");
      expect(failed.events).toBe(0);
      // Nor is anything of it told (the events counter and `once --dry-run` list what is told).
      expect(failedRun.events).toEqual([]);
      // Nothing of it reaches the outbox (on the code before: 70 false `created`), and every snapshot is as it was.
      expect(await store.listPending()).toEqual([]);
      expect(await store.getSnapshots(id, refs)).toEqual(before);
      expect(await store.countSnapshots(id)).toBe(30);
      api.endless = false;
      const next = await runner.pass(mode);
      expect(next.outcomes[0]!.ok).toBe(true);
      expect(typesOf(next.events)).toEqual(["item.updated:5"]);
      expect((await store.listPending()).map((d) => d.recordKey)).toEqual(["legacy/items/\u001f5"]);
      // And nothing more after it.
      expect((await runner.pass("reconcile")).events).toEqual([]);
      expect(await store.listPending()).toHaveLength(1);
    });
  }

  it("a dropped pass's events are neither counted nor routed; a pass that reached the outbox tells them once, after it settled", async () => {
    const { api, store } = await afterCompleteListing();
    const told: string[] = [];
    const deps = {
      store,
      clock: new ManualClock(undefined, { autoAdvance: true }),
      logger: createLogger({ level: "silent" }),
      // Every event goes to `t` and is filtered out by `f` (a routing counter: deliveries_total{outcome="filtered"}).
      route: (): Routing => ({ targets: ["t"], fixed: {}, filtered: ["f"], failed: {} }),
      // The counters read labels only: the held events keep no record body.
      eventsTold: "labels" as const,
      onEvents: (events: EventEnvelope[]) => told.push(...events.map((e) => `event ${e.type}:${e.record_id} ${JSON.stringify(e.data)}`)),
      onRouting: (outcomes: RoutingOutcome[]) => told.push(...outcomes.map((o) => `routed ${o.target} ${o.outcome}`)),
      onEnqueued: () => told.push("enqueued"),
    };
    const pass = async (mode: "reconcile" | "incremental") => {
      const source = createSource(endlessSource(api.url, { max_pass_pages: 10 }), { clock: deps.clock, logger: deps.logger });
      try {
        return (await runSourcePass(deps, source, endlessSource(api.url, { max_pass_pages: 10 }), mode))[0]!;
      } finally {
        source.close();
      }
    };
    api.names[3] = "edited";
    api.endless = true;
    expect((await pass("reconcile")).cause).toBe("pass-bound");
    // On the code before: "routed f filtered" and "event item.updated:3", then "item.created" for every invented record.
    expect(told).toEqual([]);
    api.endless = false;
    expect((await pass("reconcile")).ok).toBe(true);
    expect(told).toEqual(["enqueued", "routed f filtered", 'event item.updated:3 {"object":{}}']);
  });

  it("a pass stopped before it settled leaves its staging to the next: past the bound both passes' events are dropped and every snapshot is put back", async () => {
    const { api, store, runner, id, refs, before } = await afterCompleteListing();
    // A pass that dies after its changes were staged (here: it cannot settle them, as after a kill).
    api.names[7] = "edited";
    const stuck: StateStore = Object.create(store, {
      releaseStaged: { value: async () => Promise.reject(new Error("killed")) },
    }) as StateStore;
    expect((await passRunner(() => stuck, endlessSource(api.url, { max_pass_pages: 10 })).pass("reconcile")).outcomes[0]!.ok).toBe(false);
    expect(await store.listPending()).toEqual([]);
    expect((await store.getSnapshots(id, [{ kind: null, id: "7" }])).get("\u001f7")?.json).toContain("edited");
    // The next pass never ends: what both staged is dropped.
    api.endless = true;
    expect((await runner.pass("reconcile")).outcomes[0]!.cause).toBe("pass-bound");
    expect(await store.listPending()).toEqual([]);
    expect(await store.getSnapshots(id, refs)).toEqual(before);
    // A normal pass reports the edit, once.
    api.endless = false;
    expect(typesOf((await runner.pass("reconcile")).events)).toEqual(["item.updated:7"]);
    expect(await store.listPending()).toHaveLength(1);
  });

  /** A pass runner of `runSourcePass` that records what it tells, the drops it counts and its log lines. */
  const tellingRunner = (api: Endless, store: StateStore) => {
    const told: string[] = [];
    const dropped: string[] = [];
    const lines: Array<{ level: string; msg: string; source?: string; resource?: string }> = [];
    const deps = {
      store,
      clock: new ManualClock(undefined, { autoAdvance: true }),
      logger: createLogger({ level: "info", format: "json", destination: { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) } }),
      route: (): Routing => ({ targets: ["t"], fixed: {}, filtered: ["f"], failed: {} }),
      eventsTold: "labels" as const,
      onEvents: (events: EventEnvelope[]) => told.push(...events.map((e) => `event ${e.type}:${e.record_id}`)),
      onRouting: (outcomes: RoutingOutcome[]) => told.push(...outcomes.map((o) => `routed ${o.target} ${o.outcome}`)),
      onDropped: (id: { source: string; resource: string }, count: number) => dropped.push(`${id.source}/${id.resource} ${count}`),
    };
    const pass = async (mode: "reconcile" | "incremental", on: StateStore = store) => {
      const source = createSource(endlessSource(api.url, { max_pass_pages: 10 }), { clock: deps.clock, logger: deps.logger });
      try {
        return (await runSourcePass({ ...deps, store: on }, source, endlessSource(api.url, { max_pass_pages: 10 }), mode))[0]!;
      } finally {
        source.close();
      }
    };
    return { told, dropped, lines, pass };
  };
  /** A store whose release fails as a kill would leave it: the pass staged, and settled nothing. */
  const killedAtRelease = (store: StateStore): StateStore => Object.create(store, { releaseStaged: { value: async () => Promise.reject(new Error("killed")) } }) as StateStore;

  it("what a pass stopped part-way staged is told and counted by the pass that releases it, with a line naming the resource and the count", async () => {
    const { api, store } = await afterCompleteListing();
    const { told, lines, pass } = tellingRunner(api, store);
    api.names[7] = "edited";
    expect((await pass("reconcile", killedAtRelease(store))).ok).toBe(false);
    expect(told).toEqual([]);
    api.names[8] = "edited too";
    expect((await pass("reconcile")).ok).toBe(true);
    // On the code before: only this pass's own event (item.updated:8) was told and counted.
    expect(told).toEqual(["routed f filtered", "event item.updated:7", "routed f filtered", "event item.updated:8"]);
    expect((await store.listPending()).map((d) => d.recordKey)).toEqual(["legacy/items/\u001f7", "legacy/items/\u001f8"]);
    const line = lines.find((l) => /earlier pass staged/.test(l.msg));
    expect(line).toMatchObject({ level: "warn", source: "legacy", resource: "items", msg: "legacy/items: 1 events an earlier pass staged and never released (it stopped part-way) went to the outbox with this pass's" });
  });

  it("events dropped past a bound are counted (onDropped) with a line naming the resource, the count and those an earlier pass staged", async () => {
    const { api, store } = await afterCompleteListing();
    const { told, dropped, lines, pass } = tellingRunner(api, store);
    api.names[7] = "edited";
    expect((await pass("reconcile", killedAtRelease(store))).ok).toBe(false);
    api.names[4] = "edited too";
    api.endless = true;
    expect((await pass("reconcile")).cause).toBe("pass-bound");
    expect(told).toEqual([]);
    // The real edit of each pass and the 70 records the endless list invented. On the code before: nothing counted them.
    expect(dropped).toEqual(["legacy/items 72"]);
    const line = lines.find((l) => /went past its bound/.test(l.msg));
    expect(line).toMatchObject({ level: "warn", source: "legacy", resource: "items", msg: "legacy/items: the pass went past its bound: 72 staged events (1 of them staged by an earlier pass that stopped part-way) were dropped and the snapshots they changed put back" });
  });

  it("the default bounds derive from the last complete listing with tenfold headroom, above a floor", () => {
    expect(passBounds({}, undefined)).toMatchObject({ pages: PASS_BOUND_FIRST.pages, records: PASS_BOUND_FIRST.records });
    expect(passBounds({}, { pages: 3, records: 30 })).toMatchObject({ pages: PASS_BOUND_FLOOR.pages, records: PASS_BOUND_FLOOR.records });
    expect(passBounds({}, { pages: 4_000, records: 400_000 })).toMatchObject({ pages: 40_000, records: 4_000_000 });
    expect(passBounds({ pages: 7 }, { pages: 4_000, records: 400_000 })).toMatchObject({ pages: 7, records: 4_000_000 });
  });
});

describe("a pass that does not end, as the scheduler sees it", () => {
  it("repeated skipped ticks are warned about, and the pass shows as over-long", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", format: "json", destination: { write: (line: string) => lines.push(line) } });
    const config = restSource("http://127.0.0.1:9", "t", [restResource()]);
    const source = { pollers: [], close: () => undefined } as never;
    const scheduler = new Scheduler([{ config, source }], {} as never, logger);
    // A pass that has been running for 31 minutes (the scheduler's own record of it).
    const state = scheduler.state("legacy")!;
    state.running = { mode: "incremental", since: Date.now() - 31 * 60_000 };
    for (let i = 0; i < 3; i += 1) await scheduler.trigger("legacy", "incremental");
    expect(state.skippedTicks).toBe(3);
    const skipped = lines.map((l) => JSON.parse(l) as { level: number | string; msg: string }).filter((l) => /tick skipped/.test(l.msg));
    expect(skipped).toHaveLength(3);
    expect(skipped.slice(1).every((l) => l.level === "warn")).toBe(true);
    expect(scheduler.overlong().map((o) => o.source)).toEqual(["legacy"]);
    expect(scheduler.overlong(Date.now(), 60 * 60_000)).toEqual([]);
  });
});

describe("a long pass, as /readyz and /metrics show it", () => {
  it("/readyz answers 503 naming the source while a pass runs over-long, and metrics show its age; ready again once it failed", async () => {
    const api = await startEndless();
    process.env.RETROHOOK_TEST_OVERLONG_PASS_MS = "300";
    cleanup.push(async () => {
      delete process.env.RETROHOOK_TEST_OVERLONG_PASS_MS;
    });
    const daemon = await startDaemon({
      sources: [{ name: "legacy", type: "rest", base_url: api.url, schedule: NEVER, reconcile: NEVER, resources: [{ name: "items", path: "/items", records: "data", pagination: { style: "next", next: "next", token_param: "cursor" }, max_pass_pages: 400 }] }],
      targets: [],
    });
    cleanup.push(() => daemon.stop());
    expect((await daemon.api("GET", "/readyz")).status).toBe(200);
    expect((await daemon.api("POST", "/api/sources/legacy/pass", { mode: "incremental", wait: false })).status).toBe(200);
    let seen: { status: number; body: unknown } | undefined;
    for (let i = 0; i < 200 && !seen; i += 1) {
      const ready = await daemon.api<{ checks: { passes: boolean } }>("GET", "/readyz");
      if (ready.status === 503) seen = ready;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toMatchObject({ status: 503, body: { ready: false, checks: { passes: false }, overlongPasses: [{ source: "legacy" }] } });
    const metrics = await daemon.api("GET", "/metrics");
    expect(Number(/retrohook_pass_running_seconds\{source="legacy"\} ([\d.]+)/.exec(metrics.text)?.[1])).toBeGreaterThan(0.3);
    for (let i = 0; i < 600; i += 1) {
      if ((await daemon.api("GET", "/readyz")).status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await daemon.api("GET", "/readyz")).status).toBe(200);
    expect((await daemon.app.store.getResourceState({ source: "legacy", resource: "items" }))?.lastError?.message).toMatch(/max_pass_pages/);
    const after = (await daemon.api("GET", "/metrics")).text;
    expect(after, after.split("\n").filter((l) => l.includes("pass_errors")).join("\n")).toMatch(/retrohook_pass_errors_total\{source="legacy",resource="items",cause="pass-bound"\} 2/);
  }, 90_000);
});
