import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { openStateStore } from "../../src/store/open.js";
import { silentLogger } from "../../src/telemetry/logger.js";
import { Metrics } from "../../src/telemetry/metrics.js";
import { quantile, SeriesRecorder, SERIES_HOURS } from "../../src/telemetry/series.js";
import type { StateStore } from "../../src/store/store.js";
import { postgresForFile } from "../helpers/postgres.js";
import { tempDir } from "../helpers/tmp.js";

const pgServer = postgresForFile();

const T0 = Date.UTC(2026, 10, 23, 10, 30);
const HOUR = 3_600_000;

describe("the overview's hourly series", () => {
  it("adds what the daemon's counters gained to the current hour, keeps it in state across a restart, and draws 24 hours", async () => {
    const file = `sqlite://${tempDir()}/state.sqlite`;
    const clock = new ManualClock(T0);
    let store = await openStateStore(file, { clock });
    let metrics = new Metrics();
    let recorder = new SeriesRecorder(store, metrics, clock, silentLogger());
    metrics.eventsDetected.inc({ source: "legacy", resource: "items", type: "item.created" }, 3);
    metrics.deliveries.inc({ target: "erp", outcome: "delivered" }, 2);
    metrics.deliveries.inc({ target: "erp", outcome: "retry" });
    for (const ms of [8, 40, 40, 900]) metrics.deliveryLatency.observe({ target: "erp" }, ms / 1000);
    await recorder.sample();
    metrics.eventsDetected.inc({ source: "legacy", resource: "items", type: "item.created" });
    await recorder.sample();
    await store.close();

    // A restart: new counters from 0, the hours from state.
    clock.advance(HOUR);
    store = await openStateStore(file, { clock });
    metrics = new Metrics();
    recorder = new SeriesRecorder(store, metrics, clock, silentLogger());
    metrics.eventsDetected.inc({ source: "legacy", resource: "items", type: "item.paid" }, 2);
    metrics.deliveries.inc({ target: "erp", outcome: "delivered" }, 5);
    const view = await recorder.view(["legacy"], ["erp", "crm"]);
    await store.close();

    expect(view.hours).toHaveLength(SERIES_HOURS);
    expect(view.hours[SERIES_HOURS - 1]).toBe("2026-11-23T11:00:00.000Z");
    expect(view.hours[SERIES_HOURS - 2]).toBe("2026-11-23T10:00:00.000Z");
    const legacy = view.sources[0]!;
    expect(legacy.events["item.created"]!.slice(-2)).toEqual([4, 0]);
    expect(legacy.events["item.paid"]!.slice(-2)).toEqual([0, 2]);
    const erp = view.targets[0]!;
    expect(erp.deliveries.delivered!.slice(-2)).toEqual([2, 5]);
    expect(erp.deliveries.retry!.slice(-2)).toEqual([1, 0]);
    expect(erp.latencyP50Ms.slice(-2)).toEqual([50, null]);
    expect(erp.latencyP99Ms.slice(-2)).toEqual([1000, null]);
    expect(view.targets[1]).toMatchObject({ name: "crm", deliveries: {}, backlog: new Array(SERIES_HOURS).fill(0) });
  });

  it("replicas sampling at the same instant on one PostgreSQL add up: none overwrites another's counts", async () => {
    const url = pgServer().freshUrl();
    const clock = new ManualClock(T0);
    const replicas = await Promise.all(["A", "B", "C"].map((replicaId) => openStateStore(url, { clock, replica: true, replicaId })));
    try {
      const recorders = replicas.map((store) => ({ metrics: new Metrics(), recorder: undefined as SeriesRecorder | undefined, store }));
      for (const r of recorders) r.recorder = new SeriesRecorder(r.store, r.metrics, clock, silentLogger());
      for (let round = 0; round < 5; round += 1) {
        for (const [i, r] of recorders.entries()) r.metrics.eventsDetected.inc({ source: "legacy", resource: "items", type: "item.created" }, i + 1);
        await Promise.all(recorders.map((r) => r.recorder!.sample()));
      }
      // 5 rounds of 1 + 2 + 3. On the code before, each replica read the record, added its own and wrote it back: most rounds kept one replica's.
      const view = await recorders[0]!.recorder!.view(["legacy"], []);
      expect(view.sources[0]!.events["item.created"]!.at(-1)).toBe(30);
    } finally {
      for (const store of replicas) await store.close();
    }
  });

  it("a sample that could not be written is not lost: the next one adds it", async () => {
    const clock = new ManualClock(T0);
    const store = await openStateStore(`sqlite://${tempDir()}/state.sqlite`, { clock });
    let failing = true;
    const refusing = (write: () => Promise<void>): Promise<void> => (failing ? ((failing = false), Promise.reject(new Error("database busy"))) : write());
    const flaky: StateStore = Object.create(store, {
      putSeries: { value: (series: Parameters<StateStore["putSeries"]>[0]) => refusing(() => store.putSeries(series)) },
      updateSeries: { value: (apply: Parameters<StateStore["updateSeries"]>[0]) => refusing(() => store.updateSeries(apply)) },
    }) as StateStore;
    const metrics = new Metrics();
    const recorder = new SeriesRecorder(flaky, metrics, clock, silentLogger());
    try {
      metrics.eventsDetected.inc({ source: "legacy", resource: "items", type: "item.created" }, 3);
      await recorder.sample();
      expect(await store.getSeries()).toBeUndefined();
      metrics.eventsDetected.inc({ source: "legacy", resource: "items", type: "item.created" });
      await recorder.sample();
      // On the code before: 1 (the failed sample's 3 were taken as recorded).
      expect((await store.getSeries())!.hours[0]!.events).toEqual({ legacy: { "item.created": 4 } });
    } finally {
      await store.close();
    }
  });

  it("reads a quantile off cumulative bucket counts", () => {
    expect(quantile(undefined, 0.5)).toBeNull();
    expect(quantile([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.5)).toBeNull();
    expect(quantile([1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4], 0.5)).toBe(25);
    expect(quantile([1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4], 0.99)).toBe(20000);
  });
});
