import { systemClock, type Clock } from "./clock.js";
import { secretValues } from "./config/secrets.js";
import type { Config, SourceConfig } from "./config/types.js";
import { routeEvent } from "./core/routing.js";
import { Dispatcher } from "./delivery/dispatcher.js";
import type { PassDeps } from "./pipeline/poll-pass.js";
import { createSource } from "./sources/registry.js";
import type { Source } from "./sources/source.js";
import { openStateStore } from "./store/open.js";
import type { StateStore } from "./store/store.js";
import { registerSecrets, type Logger } from "./telemetry/logger.js";
import { Metrics } from "./telemetry/metrics.js";
import { BudgetGate } from "./pipeline/budget.js";
import type { PassOutcome } from "./pipeline/poll-pass.js";

/** The composition root: config → store, sources, dispatcher; what `once`, `run` and `demo` share. */
export interface App {
  config: Config;
  store: StateStore;
  clock: Clock;
  logger: Logger;
  sources: Array<{ config: SourceConfig; source: Source }>;
  dispatcher?: Dispatcher;
  metrics: Metrics;
  budgets: Map<string, BudgetGate>;
  passDeps(extra?: Partial<PassDeps>): PassDeps;
  /** Records a finished source pass in the metrics. */
  recordPass(source: string, outcomes: PassOutcome[], durationMs: number): void;
  close(): Promise<void>;
}

export interface OpenAppOptions {
  logger: Logger;
  clock?: Clock;
  /** Dry run: state opened read-only, no dispatcher. */
  readOnly?: boolean;
  /** Only these sources (by name). */
  only?: string[];
}

export async function openApp(config: Config, options: OpenAppOptions): Promise<App> {
  registerSecrets(secretValues(config));
  const clock = options.clock ?? systemClock();
  const logger = options.logger;
  const store = await openStateStore(config.state.url, { readOnly: options.readOnly, clock });
  try {
    if (!options.readOnly) {
      const dropped = await store.dropPendingExcept(config.targets.map((t) => t.name));
      for (const [target, count] of Object.entries(dropped)) {
        logger.warn({ target, count }, `dropped ${count} pending deliveries of target "${target}", which is no longer configured`);
      }
    }
    const selected = config.sources.filter((s) => !options.only || options.only.includes(s.name));
    const metrics = new Metrics();
    const budgets = new Map(selected.map((s) => [s.name, new BudgetGate(s, store, clock)]));
    const sources = selected.map((sourceConfig) => ({
      config: sourceConfig,
      source: createSource(sourceConfig, { clock, logger: logger.child({ source: sourceConfig.name }) }, {
        beforeRequest: () => budgets.get(sourceConfig.name)!.spend(),
        afterResponse: (response) => metrics.requests.inc({ source: sourceConfig.name, status: String(response.status) }),
      }),
    }));
    for (const { source } of sources) for (const notice of source.notices ?? []) logger.warn({ source: source.name }, notice);
    const dispatcher = options.readOnly
      ? undefined
      : new Dispatcher({
          store,
          targets: config.targets,
          clock,
          logger: logger.child({ component: "delivery" }),
          onAttempt: (attempt) => {
            metrics.deliveries.inc({ target: attempt.target, outcome: attempt.outcome });
            metrics.deliveryLatency.observe({ target: attempt.target }, attempt.latencyMs / 1000);
          },
        });
    return {
      config,
      store,
      clock,
      logger,
      sources,
      dispatcher,
      metrics,
      budgets,
      passDeps: (extra = {}) => ({
        store,
        clock,
        logger,
        route: (envelope) => routeEvent(envelope, config.targets),
        onEnqueued: (deliveries) => dispatcher?.enqueued(deliveries),
        budgets,
        ...extra,
        onEvents: (events) => {
          for (const event of events) metrics.eventsDetected.inc({ source: event.source, resource: event.resource ?? "", type: event.type });
          extra.onEvents?.(events);
        },
      }),
      recordPass(source, outcomes, durationMs) {
        const mode = outcomes[0]?.mode ?? "incremental";
        metrics.passDuration.observe({ source, mode }, durationMs / 1000);
        for (const o of outcomes) {
          metrics.passTotal.inc({ source, resource: o.resource, mode: o.mode, outcome: o.ok ? "ok" : o.blocked ? "blocked" : "failed" });
          metrics.recordsSeen.inc({ source, resource: o.resource }, o.records);
          if (o.ok) metrics.lastSuccess.set({ source, resource: o.resource }, clock.now() / 1000);
          else if (!o.blocked) metrics.passErrors.inc({ source, resource: o.resource, cause: o.cause ?? "unknown" });
        }
      },
      async close() {
        for (const { source } of sources) source.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
