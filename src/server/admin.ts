import type { IncomingMessage } from "node:http";
import type { Clock } from "../clock.js";
import type { Config } from "../config/types.js";
import type { Dispatcher } from "../delivery/dispatcher.js";
import type { BudgetGate } from "../pipeline/budget.js";
import type { Scheduler } from "../pipeline/scheduler.js";
import type { ResourcePoller } from "../sources/source.js";
import type { StateStore } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import type { Metrics } from "../telemetry/metrics.js";
import {
  pauseTarget,
  recordView,
  replayDeadLetters,
  replayEvent,
  resetSource,
  resumeSource,
  resumeTarget,
  runPassNow,
  sendTestEvent,
  type ActionContext,
} from "./actions.js";
import { HttpError, optionalBoolean, optionalString, readJsonObject } from "./http.js";
import { explainEventById, explainRecordAt } from "./explain.js";
import type { Replica } from "../cluster/replica.js";
import { clusterView } from "../cluster/view.js";
import { collectStatus, deadLetters, deliveryLog, missingEventText, sourceView, stateView, targetView, type StatusSources } from "./read-model.js";
import type { Retention } from "../pipeline/retention.js";
import { seriesView, type SeriesRecorder } from "../telemetry/series.js";

/** What the server reads and acts on: the daemon's app, plus its scheduler. */
export interface ServerContext {
  config: Config;
  store: StateStore;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  budgets: Map<string, BudgetGate>;
  dispatcher?: Dispatcher;
  scheduler?: Scheduler;
  /** The daemon's pollers of a source (built-in transitions for `explain`). */
  pollers?: (source: string) => readonly ResourcePoller[] | undefined;
  /** Set when this process is one of several replicas. */
  replica?: Replica;
  /** The daemon's retention sweeps (`GET /api/state`). */
  retention?: Retention;
  /** The daemon's hourly series (`GET /api/series`, the overview's charts). */
  series?: SeriesRecorder;
}

export interface RouteRequest {
  req: IncomingMessage;
  url: URL;
  params: string[];
  /** How the caller authenticated (for the action log). */
  via: string;
}

export interface Route {
  method: "GET" | "POST";
  pattern: RegExp;
  summary: string;
  handle(request: RouteRequest): Promise<unknown>;
}

/** The admin JSON API under `/api/`; every answer is JSON, every action is logged. */
export function adminRoutes(ctx: ServerContext): Route[] {
  const statusSources = (): StatusSources => ({
    config: ctx.config,
    store: ctx.store,
    now: ctx.clock.now(),
    budgets: ctx.budgets,
    ...(ctx.scheduler ? { scheduler: ctx.scheduler } : {}),
    ...(ctx.dispatcher ? { dispatcher: ctx.dispatcher } : {}),
    ...(ctx.replica ? { replica: ctx.replica } : {}),
  });
  const actions = (): ActionContext => ({
    config: ctx.config,
    store: ctx.store,
    now: ctx.clock.now(),
    ...(ctx.dispatcher ? { dispatcher: ctx.dispatcher } : {}),
    ...(ctx.scheduler ? { scheduler: ctx.scheduler } : {}),
  });
  const logAction = (request: RouteRequest, action: string, details: Record<string, unknown>): void => {
    ctx.logger.info({ action, ...details, via: request.via, remote: request.req.socket.remoteAddress }, "admin action");
  };
  const target = (name: string) => {
    const config = ctx.config.targets.find((t) => t.name === name);
    if (!config) throw new HttpError(404, `no target named "${name}" (configured: ${ctx.config.targets.map((t) => t.name).join(", ") || "none"})`);
    return config;
  };
  const source = (name: string) => {
    const config = ctx.config.sources.find((s) => s.name === name);
    if (!config) throw new HttpError(404, `no source named "${name}" (configured: ${ctx.config.sources.map((s) => s.name).join(", ") || "none"})`);
    return config;
  };
  const dispatcher = (): Dispatcher => {
    if (!ctx.dispatcher) throw new HttpError(503, "no dispatcher in this process (read-only)");
    return ctx.dispatcher;
  };

  const currentTarget = (name: string) => targetView(statusSources(), target(name), ctx.dispatcher?.status().find((t) => t.name === name));
  /** A POST action: a JSON body with only `keys`, the path's one parameter; logged with what `run` names. */
  const action = (
    pattern: RegExp,
    summary: string,
    keys: string[],
    run: (body: Record<string, unknown>, param: string | undefined) => Promise<{ result: unknown; log: [string, Record<string, unknown>] }>,
  ): Route => ({
    method: "POST",
    pattern,
    summary,
    handle: async (request) => {
      const body = await readJsonObject(request.req, keys);
      const { result, log } = await run(body, request.params[0]);
      logAction(request, log[0], log[1]);
      return result;
    },
  });

  const routes: Route[] = [
    {
      method: "GET",
      pattern: /^\/api\/?$/,
      summary: "this list",
      handle: async () => ({ endpoints: routes.map((r) => `${r.method} ${patternText(r.pattern)} — ${r.summary}`) }),
    },
    { method: "GET", pattern: /^\/api\/status$/, summary: "sources and targets at a glance", handle: () => collectStatus(statusSources()) },
    { method: "GET", pattern: /^\/api\/state$/, summary: "state size per kind, retention and its sweeps", handle: () => stateView(ctx.config, ctx.store, ctx.retention) },
    {
      method: "GET",
      pattern: /^\/api\/series$/,
      summary: "the last 24 hours per hour: events detected per source by type, deliveries per target by outcome, backlog, latency p50/p99",
      handle: async () => {
        const sources = ctx.config.sources.map((s) => s.name);
        const targets = ctx.config.targets.map((t) => t.name);
        return ctx.series ? ctx.series.view(sources, targets) : seriesView((await ctx.store.getSeries()) ?? { hours: [] }, ctx.clock.now(), sources, targets);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/cluster$/,
      summary: "replicas (id, host, version, last heartbeat) and which owns each source",
      handle: async () => {
        if (!ctx.replica || !ctx.store.cluster) throw new HttpError(404, "this process is not one of several replicas (no `cluster` in the config)");
        return clusterView(ctx.store.cluster, ctx.replica);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/sources$/,
      summary: "sources with cursors, passes, errors, suspensions, held deletions",
      handle: async () => (await collectStatus(statusSources())).sources,
    },
    { method: "GET", pattern: /^\/api\/sources\/([^/]+)$/, summary: "one source", handle: ({ params }) => sourceView(statusSources(), source(params[0]!)) },
    {
      method: "GET",
      pattern: /^\/api\/targets$/,
      summary: "targets with outbox depth, dead letters, pause and breaker state",
      handle: async () => (await collectStatus(statusSources())).targets,
    },
    {
      method: "GET",
      pattern: /^\/api\/targets\/([^/]+)$/,
      summary: "one target",
      handle: ({ params }) => {
        const config = target(params[0]!);
        return targetView(statusSources(), config, ctx.dispatcher?.status().find((t) => t.name === config.name));
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/log$/,
      summary: "delivery log, newest first; ?target=&type=&status=&record=&event=&limit=",
      handle: async ({ url }) => {
        const q = url.searchParams;
        const name = q.get("target") || undefined;
        if (name) target(name);
        return deliveryLog(ctx.config, ctx.store, {
          ...(name ? { target: name } : {}),
          ...(q.get("type") ? { type: q.get("type")! } : {}),
          ...(q.get("status") ? { status: q.get("status")! } : {}),
          ...(q.get("record") ? { record: q.get("record")! } : {}),
          ...(q.get("event") ? { eventId: q.get("event")! } : {}),
          limit: limitParam(q.get("limit")),
        });
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/dead-letters$/,
      summary: "dead letters with reason and last response; ?target=",
      handle: async ({ url }) => {
        const name = url.searchParams.get("target") || undefined;
        if (name) target(name);
        return deadLetters(ctx.store, name);
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/events\/([^/]+)$/,
      summary: "one event: its body and its deliveries",
      handle: async ({ params }) => {
        const id = params[0]!;
        const event = await ctx.store.getEvent(id);
        if (!event) throw new HttpError(404, await missingEventText(ctx.config, ctx.store, id));
        const pending = (await ctx.store.listPending()).filter((d) => d.eventId === id).map((d) => ({ target: d.target, attempts: d.attempts, nextAttemptAt: new Date(d.nextAttemptAt).toISOString(), lastError: d.lastError ?? null }));
        return {
          event: event.envelope,
          deliveries: await deliveryLog(ctx.config, ctx.store, { eventId: id, limit: 1000 }),
          pending,
          deadLetters: (await deadLetters(ctx.store)).filter((d) => d.eventId === id),
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/explain$/,
      summary: "why a record fired or did not: timeline, events, routing, deliveries, reasons; ?source=&resource=&id=&kind= or ?event=",
      handle: ({ url }) => {
        const q = url.searchParams;
        const explain = { config: ctx.config, store: ctx.store, now: ctx.clock.now(), budgets: ctx.budgets, ...(ctx.pollers ? { pollers: ctx.pollers } : {}) };
        if (q.get("event")) return explainEventById(explain, q.get("event")!);
        for (const key of ["source", "resource", "id"]) if (!q.get(key)) throw new HttpError(400, `give ?event=ID, or ?source=&resource=&id= (missing: ${key})`);
        return explainRecordAt(explain, { source: q.get("source")!, resource: q.get("resource")!, id: q.get("id")!, kind: q.get("kind") || null });
      },
    },
    {
      method: "GET",
      pattern: /^\/api\/records$/,
      summary: "one record's snapshot and events; ?source=&resource=&id=&kind=",
      handle: async ({ url }) => {
        const q = url.searchParams;
        const missing = ["source", "resource", "id"].filter((name) => !q.get(name));
        if (missing.length > 0) throw new HttpError(400, `missing query parameter(s): ${missing.join(", ")}`);
        return recordView(ctx, { source: q.get("source")!, resource: q.get("resource")!, id: q.get("id")!, kind: q.get("kind") || null });
      },
    },
    action(/^\/api\/events\/([^/]+)\/replay$/, "replay one event (its dead letters, else a new delivery); {target?}", ["target"], async (body, id) => {
      const name = optionalString(body, "target");
      const result = await replayEvent(actions(), id!, name);
      return { result, log: ["replay-event", { eventId: id, target: name, requeued: result.requeued }] };
    }),
    action(/^\/api\/dead-letters\/replay$/, "replay every dead letter (of one target, or of a removed target to another with to); {target?, to?}", ["target", "to"], async (body) => {
      const name = optionalString(body, "target");
      const to = optionalString(body, "to");
      const result = await replayDeadLetters(actions(), name, to);
      return { result, log: ["replay-dead-letters", { target: name ?? "*", to, requeued: result.requeued }] };
    }),
    action(/^\/api\/targets\/([^/]+)\/replay$/, "replay every dead letter of this target", [], async (_body, param) => {
      const result = await replayDeadLetters(actions(), target(param!).name);
      return { result, log: ["replay-dead-letters", { target: param, requeued: result.requeued }] };
    }),
    action(/^\/api\/targets\/([^/]+)\/test$/, "send one signed retrohook.test event to this target", [], async (_body, param) => {
      const name = target(param!).name;
      const result = await sendTestEvent(dispatcher(), ctx.config, name, ctx.clock.now());
      return { result, log: ["test-target", { target: name, status: result.status, ok: result.ok }] };
    }),
    action(/^\/api\/targets\/([^/]+)\/pause$/, "pause deliveries to this target until resumed; {reason?}", ["reason"], async (body, param) => {
      const name = target(param!).name;
      const reason = optionalString(body, "reason");
      await pauseTarget(actions(), name, reason ? `paused by an operator: ${reason}` : undefined);
      return { result: currentTarget(name), log: ["pause-target", { target: name }] };
    }),
    action(/^\/api\/targets\/([^/]+)\/resume$/, "resume deliveries to this target", [], async (_body, param) => {
      const name = target(param!).name;
      await resumeTarget(actions(), name);
      return { result: currentTarget(name), log: ["resume-target", { target: name }] };
    }),
    {
      method: "POST",
      pattern: /^\/api\/sources\/([^/]+)\/pass$/,
      summary: "run a pass of this source now; {mode?: incremental|reconcile, wait?: bool}",
      handle: async (request) => {
        const body = await readJsonObject(request.req, ["mode", "wait"]);
        const mode = optionalString(body, "mode") ?? "incremental";
        if (mode !== "incremental" && mode !== "reconcile") throw new HttpError(400, `"mode" must be "incremental" or "reconcile", got "${mode}"`);
        const name = source(request.params[0]!).name;
        logAction(request, "run-pass", { source: name, mode });
        return runPassNow(ctx.scheduler, ctx.config, name, mode, optionalBoolean(body, "wait") ?? false);
      },
    },
    action(
      /^\/api\/sources\/([^/]+)\/reset$/,
      "forget a source's (or resource's) state, or release held deletions; {resource?, accept_deletes?}",
      ["resource", "accept_deletes"],
      async (body, param) => {
        const name = source(param!).name;
        const resource = optionalString(body, "resource");
        const acceptDeletes = optionalBoolean(body, "accept_deletes") ?? false;
        const result = await resetSource(actions(), name, resource, acceptDeletes);
        return { result, log: [acceptDeletes ? "accept-deletes" : "reset", { source: name, resource: resource ?? "*", released: result.released }] };
      },
    ),
    action(/^\/api\/sources\/([^/]+)\/resume$/, "lift a source's (or resource's) suspension and back-off, keeping cursors and snapshots; {resource?}", ["resource"], async (body, param) => {
      const name = source(param!).name;
      const resource = optionalString(body, "resource");
      const result = await resumeSource(actions(), name, resource);
      return { result, log: ["resume", { source: name, resource: resource ?? "*" }] };
    }),
  ];
  return routes;
}

function limitParam(value: string | null): number {
  if (value === null || value === "") return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new HttpError(400, `"limit" must be a whole number from 1 to 1000, got "${value}"`);
  return n;
}

function patternText(pattern: RegExp): string {
  return pattern.source
    .replace(/^\^|\$$/g, "")
    .replace(/\\\//g, "/")
    .replace(/\(\[\^\/\]\+\)/g, ":name")
    .replace(/\/\?$/, "");
}
