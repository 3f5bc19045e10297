import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { openStateStore } from "../../src/store/open.js";
import { silentLogger } from "../../src/telemetry/logger.js";
import { Metrics } from "../../src/telemetry/metrics.js";
import { quantile, SeriesRecorder, SERIES_HOURS } from "../../src/telemetry/series.js";
import { tempDir } from "../helpers/tmp.js";

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

  it("reads a quantile off cumulative bucket counts", () => {
    expect(quantile(undefined, 0.5)).toBeNull();
    expect(quantile([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.5)).toBeNull();
    expect(quantile([1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4], 0.5)).toBe(25);
    expect(quantile([1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4], 0.99)).toBe(20000);
  });
});
