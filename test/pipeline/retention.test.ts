import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { DEFAULT_RETENTION, MAX_STEP_ROWS, Retention, STEP_BUDGET_MS } from "../../src/pipeline/retention.js";
import { replayEvent } from "../../src/server/actions.js";
import { explainRecordAt } from "../../src/server/explain.js";
import { stateView } from "../../src/server/read-model.js";
import { stateLines } from "../../src/cli/commands/status.js";
import { openStateStore } from "../../src/store/open.js";
import type { EnqueueItem, PrunableKind, StateStore } from "../../src/store/store.js";
import { silentLogger } from "../../src/telemetry/logger.js";
import { Metrics } from "../../src/telemetry/metrics.js";
import { tempDir } from "../helpers/tmp.js";

const T0 = Date.UTC(2026, 10, 23, 10);
const MINUTE = 60_000;

function event(id: string, record: string, at: number, targets: string[] = []): EnqueueItem {
  const envelope = { id, type: "item.updated", source: "legacy", resource: "items", kind: null, record_id: record, detected_at: new Date(at).toISOString(), data: { object: { id: record, payload: "p".repeat(2000) } } };
  return { event: { envelope, body: JSON.stringify(envelope) }, recordKey: `legacy/items/\u001f${record}`, targets };
}

function configWith(retention?: Record<string, string>): Config {
  const source = { name: "legacy", type: "rest", base_url: "http://127.0.0.1:9", resources: [{ name: "items", path: "/items", type_prefix: "item" }] };
  return parseConfig(stringify({ state: { url: "sqlite::memory:", ...(retention ? { retention } : {}) }, sources: [source], targets: [{ name: "t", url: "http://127.0.0.1:9/hook" }] }), { path: "/test/config.yaml", env: {} });
}

describe("state.retention", () => {
  it("parses durations, with the defaults when absent", () => {
    expect(configWith().state.retention).toEqual(DEFAULT_RETENTION);
    expect(configWith({ events: "10m", delivery_log: "1h", dead_letters: "2d" }).state.retention).toEqual({ events: 600_000, delivery_log: 3_600_000, dead_letters: 172_800_000 });
    expect(() => configWith({ events: "soon" })).toThrow(/state\.retention\.events/);
    expect(() => configWith({ event: "1d" } as Record<string, string>)).toThrow(/event/);
  });
});

describe("a retention sweep", () => {
  it("prunes in steps, gives the space back, keeps what deliveries need, and shows it all in status, metrics, explain and replay", async () => {
    const clock = new ManualClock(T0 + 120 * MINUTE);
    const store = await openStateStore(`sqlite://${join(tempDir(), "state.sqlite")}`, { clock });
    const config = configWith({ events: "1h", delivery_log: "1h", dead_letters: "1h" });
    try {
      const items: EnqueueItem[] = [];
      for (let n = 0; n < 600; n++) items.push(event(`old${n}`, String(n % 50), T0 + (n / 10) * 1000));
      items.push(event("old-pending", "7", T0, ["t"]));
      for (let n = 0; n < 20; n++) items.push(event(`new${n}`, String(n), T0 + 100 * MINUTE));
      await store.enqueue(items);
      const metrics = new Metrics();
      const retention = new Retention(store, config.state.retention, clock, silentLogger(), metrics);
      await retention.sweep();
      const stats = retention.status();
      expect(stats.lastSweep!.removed.events).toBe(600);
      expect(stats.lastSweep!.steps).toBeGreaterThan(4);
      expect(stats.lastSweep!.pagesReclaimed).toBeGreaterThan(0);
      expect(stats.maxStepMs).toBeGreaterThan(0);
      expect(await store.getEvent("old-pending")).toBeDefined();
      expect(await store.getEvent("new3")).toBeDefined();
      expect(await store.getEvent("old3")).toBeUndefined();
      expect(await metrics.registry.getSingleMetricAsString("retrohook_pruned_total")).toContain('retrohook_pruned_total{kind="events"} 600');
      expect(await metrics.registry.getSingleMetricAsString("retrohook_state_bytes")).toMatch(/retrohook_state_bytes\{kind="events"\} \d{5}/);

      const view = await stateView(config, store, retention);
      expect(view.sizes.kinds.events.count).toBe(21 * 3);
      expect(view.sizes.freeBytes).toBe(0);
      expect(view.prunedBefore.events).toBe(new Date(T0 + 60 * MINUTE).toISOString());
      const text = stateLines(view).join("\n");
      expect(text).toMatch(/^events\s+63\s+\d+\.\d KiB\s+1h \(pruned before 2026-11-23T11:00:00\.000Z\)$/m);
      expect(text).toContain("space: incremental vacuum");
      expect(text).toMatch(/retention: 1 sweeps, the last at .* removed 600 entries in \d+ ms; longest step \d+\.\d ms/);

      // A record whose older events are gone says so; a pruned event's replay says why it is missing.
      await store.putSnapshots({ source: "legacy", resource: "items" }, [{ kind: null, id: "3", snapshot: { version: 4, fingerprint: "f", json: '{"id":"3"}' } }]);
      const explained = await explainRecordAt({ config, store, now: clock.now() }, { source: "legacy", resource: "items", id: "3" });
      expect(explained.whyNot.find((w) => w.reason === "pruned")?.text).toBe("events detected before 2026-11-23T11:00:00.000Z are pruned (state.retention.events = 1h): any earlier event of this record is no longer kept");
      await expect(replayEvent({ config, store, now: clock.now() }, "old3")).rejects.toThrow('no event "old3" in state: never detected here, or pruned (state.retention.events = 1h; events detected before 2026-11-23T11:00:00.000Z are gone)');
    } finally {
      await store.close();
    }
  });

  it("builds the event index of a state file written before retention, in steps, then prunes", async () => {
    const file = join(tempDir(), "state.sqlite");
    const clock = new ManualClock(T0 + 120 * MINUTE);
    const store = await openStateStore(`sqlite://${file}`, { clock });
    await store.enqueue(Array.from({ length: 300 }, (_, n) => event(`e${n}`, String(n), T0)));
    await store.close();
    // What a file from before retention looks like: no `n/` index and no flag.
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(file);
    db.prepare("DELETE FROM kv WHERE key >= 'n/' AND key < 'n0' OR key = 'm/nidx'").run();
    db.close();
    const again = await openStateStore(`sqlite://${file}`, { clock });
    try {
      const retention = new Retention(again, { events: 60 * MINUTE, delivery_log: 60 * MINUTE, dead_letters: 60 * MINUTE }, clock, silentLogger());
      await retention.sweep();
      expect(retention.status().lastSweep!.removed.events).toBe(300);
      expect(await again.getEvent("e1")).toBeUndefined();
      expect(await again.listEventIdsForRecord("legacy/items/\u001f1")).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it("never grows a step past MAX_STEP_ROWS, however cheap the steps before were", async () => {
    // Steps that only look (nothing to delete) are fast; the step size doubles after each. A
    // step that then deletes at that size held the loop 126 ms on a loaded machine (2,000 rows).
    const limits: number[] = [];
    let calls = 0;
    const store = {
      async pruneStep(_kind: PrunableKind, _before: number, limit: number) {
        limits.push(limit);
        calls += 1;
        return { removed: 0, done: calls % 20 === 0 };
      },
      async reclaimSpace() { return 0; },
    } as unknown as StateStore;
    const retention = new Retention(store, DEFAULT_RETENTION, new ManualClock(T0), silentLogger());
    await retention.sweep();
    expect(Math.max(...limits)).toBe(MAX_STEP_ROWS);
    expect(MAX_STEP_ROWS).toBeLessThanOrEqual(500);
  });

  it("gives every step a time budget of about 20 ms, and yields to the event loop between steps", async () => {
    // A 500-row events step cost ~50 ms of CPU once ~80k events were kept: rows do not bound a
    // step's time, so each step gets a budget and the sweep goes on in the next one.
    const budgets: Array<number | undefined> = [];
    let calls = 0;
    let ticks = 0;
    const ticking = setInterval(() => { ticks += 1; }, 0);
    const store = {
      async pruneStep(_kind: PrunableKind, _before: number, _limit: number, budgetMs?: number) {
        budgets.push(budgetMs);
        calls += 1;
        const until = performance.now() + 2;
        while (performance.now() < until) { /* a step's work */ }
        return { removed: 1, done: calls % 5 === 0 };
      },
      async reclaimSpace() { return 0; },
    } as unknown as StateStore;
    try {
      const retention = new Retention(store, DEFAULT_RETENTION, new ManualClock(T0), silentLogger());
      await retention.sweep();
    } finally {
      clearInterval(ticking);
    }
    expect(STEP_BUDGET_MS).toBeGreaterThanOrEqual(10);
    expect(STEP_BUDGET_MS).toBeLessThanOrEqual(25);
    expect(budgets).toHaveLength(20);
    expect(new Set(budgets)).toEqual(new Set([STEP_BUDGET_MS]));
    // Timers ran between the steps: the sweep gave the loop back.
    expect(ticks).toBeGreaterThan(5);
  });

  it("measures how late a pass tick ran when it fell due while a step held the event loop", async () => {
    const store = {
      async pruneStep() {
        const until = Date.now() + 60;
        while (Date.now() < until) { /* a step holding the event loop for 60 ms */ }
        return { removed: 1, done: true };
      },
      async reclaimSpace() { return 0; },
    } as unknown as StateStore;
    const retention = new Retention(store, DEFAULT_RETENTION, new ManualClock(T0), silentLogger());
    // A tick due 20 ms after the sweep starts (inside the first step) and one due long after.
    const due = Date.now() + 20;
    const fired = new Promise<void>((resolve) => setTimeout(() => { retention.noteTick(due, Date.now()); resolve(); }, 20));
    const sweep = retention.sweep();
    await fired;
    await sweep;
    await new Promise((resolve) => setTimeout(resolve, 20));
    retention.noteTick(Date.now() - 3, Date.now());
    const ticks = retention.status().ticks;
    expect(ticks.count).toBe(2);
    expect(ticks.duringSteps).toBe(1);
    expect(ticks.maxLateDuringStepMs).toBeGreaterThanOrEqual(30);
    expect(ticks.maxLateMs).toBe(ticks.maxLateDuringStepMs);
  });
});
