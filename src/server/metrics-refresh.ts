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
