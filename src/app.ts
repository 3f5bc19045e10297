import { systemClock, type Clock } from "./clock.js";
import { secretValues } from "./config/secrets.js";
import type { Config, SourceConfig } from "./config/types.js";
import { routeWithExpressions } from "./core/routing.js";
import { Dispatcher } from "./delivery/dispatcher.js";
import type { PassDeps } from "./pipeline/poll-pass.js";
import { createSource } from "./sources/registry.js";
import type { ResourcePoller, Source } from "./sources/source.js";
import { openStateStore } from "./store/open.js";
import type { StateStore } from "./store/store.js";
import { registerSecrets, type Logger } from "./telemetry/logger.js";
import { Metrics } from "./telemetry/metrics.js";
import { BudgetGate } from "./pipeline/budget.js";
import { ORPHANS, Replica, replicaId, sourceOfRecordKey } from "./cluster/replica.js";
import { currentFence } from "./store/fence.js";
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
  /** Set when this process is one of several replicas (`run` with `cluster`). */
  replica?: Replica;
  /** Pending deliveries of targets no longer configured, moved to dead letters at open (per target). */
  removedTargets: Record<string, number>;
  /** A source's pollers by source name (the admin API's `explain` reads their rules). */
  pollers(source: string): readonly ResourcePoller[] | undefined;
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
  /** `run`: with `cluster` configured, be one of several replicas (leases, fencing). */
  replica?: boolean;
}

/**
 * What `run`, `once` and `validate` say about the pending deliveries of a target that left the
 * config: they go to dead letters (never dropped) and how to send them on.
 */
export function removedTargetNotice(target: string, count: number, config: Config, future = false): string {
  const other = config.targets.length === 1 ? config.targets[0]!.name : "NEW";
  const moved = future ? "will move to dead letters at the next run or once" : "moved to dead letters";
  return `${count} pending deliveries of target "${target}", which is no longer configured, ${moved} (reason "target ${target} removed from config"); send them on with: retrohook replay --dead-letters --target ${target} --to ${other}`;
}

/**
 * What passes of resources no longer in the config staged and never settled (stopped before
 * they ended) is dropped, and the snapshots they changed put back, with a log line: no pass of
 * the resource is left to release it (docs/decisions/0014). Only resources of sources gone from
 * the config or of the sources opened here are judged (`once --source` leaves the others alone).
 * A replica (`me`) leaves alone the staging of a source another replica holds the lease of: during
 * a rollout that replica may still run the old config, with a pass of the resource in flight.
 */
async function forgetRemovedStaging(store: StateStore, config: Config, opened: Array<{ config: SourceConfig; source: { pollers: Array<{ resource: string }> } }>, logger: Logger, metrics: Metrics, me?: string): Promise<void> {
  const known = new Set(config.sources.map((s) => s.name));
  const polled = new Map(opened.map(({ config: c, source }) => [c.name, new Set(source.pollers.map((p) => p.resource))]));
  let leased: Map<string, string> | undefined;
  for (const id of await store.stagedResources()) {
    const resources = polled.get(id.source);
    if (known.has(id.source) && (!resources || resources.has(id.resource))) continue;
    if (store.cluster && me !== undefined) {
      try {
        leased ??= new Map((await store.cluster.leases()).filter((lease) => lease.valid && lease.owner !== me).map((lease) => [lease.source, lease.owner]));
      } catch (error) {
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, "could not read the replicas' leases: what passes of resources no longer configured staged is left until the next start");
        return;
      }
      const owner = leased.get(id.source);
      if (owner !== undefined) {
        logger.info({ source: id.source, resource: id.resource, owner }, `resource ${id.source}/${id.resource} is no longer configured here, but replica ${owner} holds the lease of source ${id.source}: what a pass of it staged is left to that replica (judged again at the next start)`);
        continue;
      }
    }
    try {
      const dropped = await store.discardStaged(id);
      if (dropped > 0) metrics.eventsDropped.inc({ source: id.source, resource: id.resource, reason: "resource-removed" }, dropped);
      logger.warn({ source: id.source, resource: id.resource, dropped }, `resource ${id.source}/${id.resource} is no longer configured: the ${dropped} events a pass of it staged and never released were dropped, and the snapshots it changed put back`);
    } catch (error) {
      logger.warn({ source: id.source, resource: id.resource, err: error instanceof Error ? error.message : String(error) }, `resource ${id.source}/${id.resource} is no longer configured: could not drop what a pass of it staged (tried again at the next start)`);
    }
  }
}

export async function openApp(config: Config, options: OpenAppOptions): Promise<App> {
  registerSecrets(secretValues(config));
  const clock = options.clock ?? systemClock();
  const logger = options.logger;
  const clustered = options.replica === true && config.cluster !== undefined && options.readOnly !== true;
  const me = clustered ? replicaId(config.cluster!) : undefined;
  const store = await openStateStore(config.state.url, { readOnly: options.readOnly, clock, replica: clustered, ...(clustered ? { leaseMs: config.cluster!.lease, replicaId: me } : {}) });
  try {
    const removedTargets = options.readOnly ? {} : await store.deadLetterPendingExcept(config.targets.map((t) => t.name));
    for (const [target, count] of Object.entries(removedTargets)) {
      logger.warn({ target, count }, removedTargetNotice(target, count, config));
    }
    const selected = config.sources.filter((s) => !options.only || options.only.includes(s.name));
    const configured = new Set(config.sources.map((s) => s.name));
    const metrics = new Metrics();
    const budgets = new Map(selected.map((s) => [s.name, new BudgetGate(s, store, clock)]));
    const replica = clustered && store.cluster
      ? new Replica({ store: store.cluster, config: config.cluster!, sources: selected.map((s) => s.name), logger: logger.child({ component: "cluster" }), metrics })
      : undefined;
    const sources = selected.map((sourceConfig) => ({
      config: sourceConfig,
      source: createSource(sourceConfig, { clock, logger: logger.child({ source: sourceConfig.name }) }, {
        beforeRequest: () => {
          // A replica that lost the lease (paused past it) makes no further request for the pass.
          replica?.checkFence(currentFence());
          return budgets.get(sourceConfig.name)!.spend();
        },
        afterResponse: (response) => metrics.requests.inc({ source: sourceConfig.name, status: String(response.status) }),
      }),
    }));
    for (const { source } of sources) for (const notice of source.notices ?? []) logger.warn({ source: source.name }, notice);
    if (!options.readOnly) await forgetRemovedStaging(store, config, sources, logger, metrics, clustered ? me : undefined);
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
          // Replicas: a delivery goes out from the replica holding its source's lease.
          ...(replica ? { owns: (delivery, forMs) => replica.delivers(sourceOfRecordKey(delivery.recordKey), configured.has(sourceOfRecordKey(delivery.recordKey)), forMs) } : {}),
        });
    if (replica) {
      const leaseOf = (delivery: { recordKey: string }): string => {
        const source = sourceOfRecordKey(delivery.recordKey);
        return configured.has(source) ? source : ORPHANS;
      };
      const unread = new Set<string>();
      replica.onAcquired((source) => {
        // Another replica may have spent from the budget since this one last read it.
        budgets.get(source)?.forget();
        unread.add(source);
      });
      replica.onLost((source) => dispatcher?.forget((delivery) => leaseOf(delivery) === source));
      // Every round re-reads the outbox (deliveries written on other replicas: a replay). A new
      // lease's deliveries wait for a read begun after its grant: an earlier delivery of a record
      // must be known before a later one goes.
      replica.onRound(() => {
        const granted = [...unread];
        unread.clear();
        if (!dispatcher) return replica.markLoaded(granted);
        dispatcher.reload().then(
          () => {
            replica.markLoaded(granted);
            dispatcher.kick();
          },
          (error: unknown) => {
            for (const source of granted) unread.add(source);
            logger.error({ err: error instanceof Error ? error.message : String(error) }, "reading pending deliveries failed");
          },
        );
      });
    }
    return {
      config,
      store,
      clock,
      logger,
      sources,
      dispatcher,
      metrics,
      budgets,
      ...(replica ? { replica } : {}),
      removedTargets,
      pollers: (name) => sources.find((s) => s.config.name === name)?.source.pollers,
      passDeps: (extra = {}) => ({
        store,
        clock,
        logger,
        route: (envelope) => routeWithExpressions(envelope, config.targets),
        onEnqueued: (deliveries) => dispatcher?.enqueued(deliveries),
        budgets,
        // The counters read an event's labels; a caller's own `onEvents` (dry-run) reads all of it.
        eventsTold: extra.onEvents ? "whole" : "labels",
        ...extra,
        onRouting: (outcomes) => {
          for (const { target, outcome } of outcomes) metrics.deliveries.inc({ target, outcome });
          extra.onRouting?.(outcomes);
        },
        onEvents: (events) => {
          for (const event of events) metrics.eventsDetected.inc({ source: event.source, resource: event.resource ?? "", type: event.type });
          extra.onEvents?.(events);
        },
        onDropped: (id, count) => metrics.eventsDropped.inc({ source: id.source, resource: id.resource, reason: "pass-bound" }, count),
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
        await replica?.abandon();
        for (const { source } of sources) source.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
