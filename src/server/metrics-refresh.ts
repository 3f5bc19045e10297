import type { Config } from "../config/types.js";
import type { Dispatcher } from "../delivery/dispatcher.js";
import type { BudgetGate } from "../pipeline/budget.js";
import type { Scheduler } from "../pipeline/scheduler.js";
import type { StateStore } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";

export interface GaugeSources {
  config: Config;
  store: StateStore;
  metrics: Metrics;
  budgets: Map<string, BudgetGate>;
  dispatcher?: Dispatcher;
  scheduler?: Pick<Scheduler, "state">;
  now: number;
}

/**
 * Sets the gauges that describe state rather than count happenings, just before a scrape:
 * outbox depth, oldest pending age, dead letters and pauses per target; budget, suspensions
 * and the last successful pass per source and resource (from state, so they survive restarts).
 * The queue's figures are kept counts (`store.queueGauges`): a scrape costs the same with 10 or
 * 100,000 deliveries pending.
 */
export async function refreshGauges(input: GaugeSources): Promise<void> {
  const { config, store, metrics, now } = input;
  const live = input.dispatcher?.status();
  for (const target of config.targets) {
    const labels = { target: target.name };
    const queue = await store.queueGauges(target.name);
    metrics.outboxDepth.set(labels, queue.pending);
    const oldest = queue.oldestPendingEventId ? await store.getEvent(queue.oldestPendingEventId) : undefined;
    metrics.oldestPending.set(labels, oldest ? Math.max(0, (now - Date.parse(oldest.envelope.detected_at)) / 1000) : 0);
    metrics.deadLetters.set(labels, queue.deadLetters);
    const status = live?.find((t) => t.name === target.name);
    const operatorPaused = status ? status.paused !== undefined : (await store.getTargetState(target.name))?.paused !== undefined;
    metrics.breakerOpen.set({ target: target.name, by: "operator" }, operatorPaused ? 1 : 0);
    metrics.breakerOpen.set({ target: target.name, by: "breaker" }, status?.breaker.status === "open" ? 1 : 0);
  }
  for (const source of config.sources) {
    const run = input.scheduler?.state(source.name);
    metrics.passRunning.set({ source: source.name }, run?.running ? Math.max(0, Date.now() - run.running.since) / 1000 : 0);
    metrics.ticksSkipped.set({ source: source.name }, run?.skippedTicks ?? 0);
    const budget = await input.budgets.get(source.name)?.used();
    if (budget) {
      metrics.budgetUsed.set({ source: source.name }, budget.used);
      metrics.budgetLeft.set({ source: source.name }, budget.left);
    }
    const sourceState = await store.getSourceState(source.name);
    metrics.suspended.set({ source: source.name, resource: "" }, sourceState?.suspended ? 1 : 0);
    for (const resource of source.resources) {
      const state = await store.getResourceState({ source: source.name, resource: resource.name });
      metrics.suspended.set({ source: source.name, resource: resource.name }, state?.suspended ? 1 : 0);
      metrics.heldDeletions.set({ source: source.name, resource: resource.name }, state?.held?.records.length ?? 0);
      if (state?.lastPassAt) metrics.lastSuccess.set({ source: source.name, resource: resource.name }, Date.parse(state.lastPassAt) / 1000);
    }
  }
}

/** The share of the daemon's time `/metrics` may take when scraped without pause. */
export const SCRAPE_SHARE = 0.05;
/** The longest a scrape waits for its turn (a render slowed by other work is not multiplied without end). */
export const SCRAPE_MAX_WAIT_MS = 250;

export interface PacedRenderOptions {
  share?: number;
  maxWaitMs?: number;
  now?: () => number;
  /** CPU time of the process in ms (a render's cost: time it waited for a database or the CPU is not counted). */
  cpuMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const processCpuMs = (): number => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

/**
 * `/metrics` answers, rendered one at a time and paced: after a render and its sends cost `d` ms
 * of CPU, the next render starts no sooner than `d × (1 − share) / share` later (at most
 * `maxWaitMs`), so scrapers in a tight loop — any number of them — get at most about `share`
 * of the event loop and delivery keeps the rest. A scrape always gets a body rendered after it
 * arrived: it joins the render that has not started yet (every scrape waiting for it is sent its
 * body), never one already running. An occasional scraper (Prometheus every 15 s) never waits.
 * Returns `scrape(send)`: resolves once `send` got the body, rejects when the render failed.
 */
export function pacedRenders(render: () => Promise<string>, options: PacedRenderOptions = {}): (send: (body: string) => void) => Promise<void> {
  const share = options.share ?? SCRAPE_SHARE;
  const maxWaitMs = options.maxWaitMs ?? SCRAPE_MAX_WAIT_MS;
  const now = options.now ?? (() => performance.now());
  const cpuMs = options.cpuMs ?? processCpuMs;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let running: Promise<void> | undefined;
  let waiting: { sends: Array<(body: string) => void>; done: Promise<void> } | undefined;
  let readyAt = Number.NEGATIVE_INFINITY;

  const start = (sends: Array<(body: string) => void>): Promise<void> => {
    const began = cpuMs();
    const turn = (async () => {
      const body = await render();
      // One client gone (a closed socket) does not keep the body from the others.
      for (const send of sends) {
        try {
          send(body);
        } catch {
          // nothing to answer on
        }
      }
    })().finally(() => {
      readyAt = now() + Math.min(maxWaitMs, ((cpuMs() - began) * (1 - share)) / share);
      running = undefined;
    });
    running = turn;
    return turn;
  };
  /** The next render, started once the one running (if any) ended and its pause is over. */
  const queue = (): { sends: Array<(body: string) => void>; done: Promise<void> } => {
    const sends: Array<(body: string) => void> = [];
    const done = (async () => {
      if (running) await running.catch(() => undefined);
      const pause = readyAt - now();
      if (pause > 0) await sleep(pause);
      waiting = undefined;
      return start(sends);
    })();
    waiting = { sends, done };
    return waiting;
  };
  return (send) => {
    if (!waiting && !running && now() >= readyAt) return start([send]);
    const turn = waiting ?? queue();
    turn.sends.push(send);
    return turn.done;
  };
}
