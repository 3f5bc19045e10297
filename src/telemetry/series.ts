import type { Clock } from "../clock.js";
import type { SeriesHour, SeriesState, StateStore } from "../store/store.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

/**
 * The overview's charts: per source, events detected per hour by type; per target, delivery
 * attempts per hour by outcome, the backlog (the most pending at a sample) and the attempts'
 * latency p50/p99 — over the last 24 hours.
 *
 * Drawn from what the daemon already counts (its metrics: `retrohook_events_detected_total`,
 * `retrohook_deliveries_total`, `retrohook_delivery_latency_seconds`; the outbox's pending
 * counts): a sample adds what the counters gained since the previous one to the current hour
 * and writes the day (one small JSON record) to state, so a restart keeps it. Bounded: 25 hours
 * × sources × types and targets × outcomes and 12 latency buckets.
 */

const HOUR = 3_600_000;
/** Hours drawn (the current one included). */
export const SERIES_HOURS = 24;
/** Upper bounds of the latency buckets (ms), as `retrohook_delivery_latency_seconds` has them. */
export const SERIES_LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export interface SeriesView {
  /** Start of each hour (ISO), oldest first; the last is the current hour. */
  hours: string[];
  sources: Array<{ name: string; events: Record<string, number[]> }>;
  targets: Array<{ name: string; deliveries: Record<string, number[]>; backlog: number[]; latencyP50Ms: Array<number | null>; latencyP99Ms: Array<number | null> }>;
}

export class SeriesRecorder {
  /** Counter values at the previous sample (series key → value). */
  private readonly seen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lastSampleAt = 0;

  constructor(
    private readonly store: StateStore,
    private readonly metrics: Metrics,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** A sample now, then one a minute. */
  start(everyMs = 60_000): void {
    const tick = (): void => {
      void this.sample().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, everyMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stops sampling, after a last sample (what the counters gained since the last one is kept). */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.sample();
  }

  /** Adds what the counters gained since the last sample to the current hour; writes the day to state. One at a time. */
  sample(): Promise<void> {
    const run = this.chain.then(() => this.sampleNow()).catch((error: unknown) => {
      this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "charts: sample failed; tried again at the next one");
    });
    this.chain = run;
    return run;
  }

  /** The last 24 hours as the admin API gives them (the current hour brought up to date, at most every 5 s). */
  async view(sources: string[], targets: string[]): Promise<SeriesView> {
    if (Date.now() - this.lastSampleAt >= 5000) await this.sample();
    return seriesView((await this.store.getSeries()) ?? { hours: [] }, this.clock.now(), sources, targets);
  }

  private async sampleNow(): Promise<void> {
    if (this.store.readOnly) return;
    this.lastSampleAt = Date.now();
    const now = this.clock.now();
    const at = Math.floor(now / HOUR) * HOUR;
    // What the counters gained since the last sample written; `seen` moves on once this one is.
    const seen = new Map<string, number>();
    const gained = (key: string, value: number): number => {
      const delta = value - (this.seen.get(key) ?? 0);
      seen.set(key, value);
      return delta > 0 ? delta : 0;
    };
    const changes: Array<(hour: SeriesHour) => void> = [];
    for (const { labels, value } of (await this.metrics.eventsDetected.get()).values) {
      const source = String(labels.source);
      const type = String(labels.type);
      const delta = gained(`e\u001f${source}\u001f${labels.resource}\u001f${type}`, value);
      if (delta) changes.push((hour) => add(hour.events, source, type, delta));
    }
    for (const { labels, value } of (await this.metrics.deliveries.get()).values) {
      const delta = gained(`d\u001f${labels.target}\u001f${labels.outcome}`, value);
      if (delta) changes.push((hour) => add(hour.deliveries, String(labels.target), String(labels.outcome), delta));
    }
    for (const { labels, value, metricName } of (await this.metrics.deliveryLatency.get()).values) {
      if (!metricName?.endsWith("_bucket")) continue;
      const target = String(labels.target);
      const bound = (labels as Record<string, string | number | undefined>).le;
      const le = bound === "+Inf" ? Infinity : Number(bound) * 1000;
      const index = le === Infinity ? SERIES_LATENCY_BOUNDS_MS.length : SERIES_LATENCY_BOUNDS_MS.findIndex((bound) => Math.abs(bound - le) < 1e-6);
      if (index < 0) continue;
      // Cumulative counts (attempts ≤ the bound), as the histogram keeps them.
      const delta = gained(`l\u001f${target}\u001f${index}`, value);
      changes.push((hour) => {
        const row = (hour.latency[target] ??= new Array<number>(SERIES_LATENCY_BOUNDS_MS.length + 1).fill(0));
        row[index] = (row[index] ?? 0) + delta;
      });
    }
    for (const [target, pending] of Object.entries(await this.store.pendingTargets())) {
      changes.push((hour) => {
        hour.backlog[target] = Math.max(hour.backlog[target] ?? 0, pending);
      });
    }
    // Added to what is stored at the write, in one step: replicas sampling together (each with
    // its own counters) add up instead of overwriting each other.
    await this.store.updateSeries((current) => {
      const state: SeriesState = current ?? { hours: [] };
      let hour = state.hours.find((h) => h.at === at);
      if (!hour) {
        hour = { at, events: {}, deliveries: {}, backlog: {}, latency: {} };
        state.hours.push(hour);
        state.hours.sort((a, b) => a.at - b.at);
      }
      for (const change of changes) change(hour);
      state.hours = state.hours.filter((h) => h.at > at - SERIES_HOURS * HOUR);
      return state;
    });
    for (const [key, value] of seen) this.seen.set(key, value);
  }
}

function add(into: Record<string, Record<string, number>>, key: string, sub: string, delta: number): void {
  const row = (into[key] ??= {});
  row[sub] = (row[sub] ?? 0) + delta;
}

/** The last `SERIES_HOURS` hours, one point per hour (0 or null where nothing was recorded). */
export function seriesView(state: SeriesState, now: number, sources: string[], targets: string[]): SeriesView {
  const last = Math.floor(now / HOUR) * HOUR;
  const starts = Array.from({ length: SERIES_HOURS }, (_, i) => last - (SERIES_HOURS - 1 - i) * HOUR);
  const byAt = new Map(state.hours.map((h) => [h.at, h]));
  const hours = starts.map((at) => byAt.get(at));
  const perKey = (pick: (h: SeriesHour) => Record<string, number> | undefined): Record<string, number[]> => {
    const keys = new Set(hours.flatMap((h) => (h ? Object.keys(pick(h) ?? {}) : [])));
    return Object.fromEntries([...keys].sort().map((key) => [key, hours.map((h) => (h ? pick(h)?.[key] ?? 0 : 0))]));
  };
  return {
    hours: starts.map((at) => new Date(at).toISOString()),
    sources: sources.map((name) => ({ name, events: perKey((h) => h.events[name]) })),
    targets: targets.map((name) => ({
      name,
      deliveries: perKey((h) => h.deliveries[name]),
      backlog: hours.map((h) => h?.backlog[name] ?? 0),
      latencyP50Ms: hours.map((h) => quantile(h?.latency[name], 0.5)),
      latencyP99Ms: hours.map((h) => quantile(h?.latency[name], 0.99)),
    })),
  };
}

/**
 * The bucket bound below which `q` of the hour's attempts fell (from cumulative counts per
 * bound; the last, above every bound, reads as twice the highest bound). Null without attempts.
 */
export function quantile(cumulative: number[] | undefined, q: number): number | null {
  if (!cumulative) return null;
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const index = cumulative.findIndex((count) => count >= q * total);
  return index < SERIES_LATENCY_BOUNDS_MS.length ? SERIES_LATENCY_BOUNDS_MS[index]! : SERIES_LATENCY_BOUNDS_MS[SERIES_LATENCY_BOUNDS_MS.length - 1]! * 2;
}
