import { systemClock } from "../clock.js";
import type { Config, SourceConfig, StartMode } from "../config/types.js";
import { explainRecord, type ExplainEventInput, type ExplainView } from "../core/explain.js";
import { targetAccepts } from "../core/routing.js";
import { recordKey, refKey, type JsonObject } from "../core/types.js";
import type { BudgetGate } from "../pipeline/budget.js";
import { createSource } from "../sources/registry.js";
import type { ResourcePoller } from "../sources/source.js";
import type { StateStore } from "../store/store.js";
import { silentLogger } from "../telemetry/logger.js";
import { HttpError } from "./http.js";
import { formatDuration, missingEventText } from "./read-model.js";
import { retentionOf } from "../pipeline/retention.js";

/**
 * Gathers what `explain` needs from the state store and the config, for the CLI, the admin API
 * (`GET /api/explain`) and the web UI's record page alike.
 */

export interface ExplainContext {
  config: Config;
  store: StateStore;
  now: number;
  budgets?: Map<string, BudgetGate>;
  /** The daemon's pollers (built-in transitions, type prefix); built from the config otherwise. */
  pollers?: (source: string) => readonly ResourcePoller[] | undefined;
}

export interface RecordAddress {
  source: string;
  resource: string;
  id: string;
  kind?: string | null;
}

export interface ExplainResult extends ExplainView {
  /** Set by `--event`: the event asked about. */
  focus?: string;
}

/** `SOURCE/RESOURCE/RECORD_ID`, with `KIND:ID` for resources whose records have a kind. */
export function parseRecordAddress(text: string): RecordAddress {
  const [source, resource, ...rest] = text.split("/");
  const tail = rest.join("/");
  if (!source || !resource || !tail) throw new HttpError(400, `expected SOURCE/RESOURCE/RECORD_ID (e.g. fakturownia/invoices/123), got "${text}"`);
  const colon = tail.indexOf(":");
  return colon > 0 && !/^\d/.test(tail) ? { source, resource, kind: tail.slice(0, colon), id: tail.slice(colon + 1) } : { source, resource, id: tail };
}

export async function explainRecordAt(ctx: ExplainContext, address: RecordAddress): Promise<ExplainResult> {
  const source = ctx.config.sources.find((s) => s.name === address.source);
  if (!source) throw new HttpError(404, `no source named "${address.source}" (configured: ${ctx.config.sources.map((s) => s.name).join(", ") || "none"})`);
  const resource = source.resources.find((r) => r.name === address.resource);
  if (!resource) throw new HttpError(404, `source "${address.source}" has no resource "${address.resource}" (configured: ${source.resources.map((r) => r.name).join(", ")})`);
  const { store } = ctx;
  const id = { source: source.name, resource: resource.name };
  const ref = { kind: address.kind ?? null, id: address.id };
  const key = recordKey(source.name, resource.name, ref);
  const snapshot = (await store.getSnapshots(id, [ref])).get(refKey(ref));
  const [pending, dead, log, eventIds, passes, resourceState, sourceState] = await Promise.all([
    store.listPending(),
    store.listDeadLetters(),
    store.listLog({ limit: Number.MAX_SAFE_INTEGER }),
    store.listEventIdsForRecord(key),
    store.listPasses(id),
    store.getResourceState(id),
    store.getSourceState(source.name),
  ]);
  const events: ExplainEventInput[] = [];
  for (const eventId of eventIds) {
    const stored = await store.getEvent(eventId);
    events.push({
      id: eventId,
      ...(stored ? { envelope: stored.envelope } : {}),
      attempts: log
        .filter((entry) => entry.eventId === eventId)
        .reverse()
        .map((entry) => ({ at: entry.at, target: entry.target, attempt: entry.attempt, outcome: entry.outcome, ...(entry.status !== undefined ? { status: entry.status } : {}), latencyMs: entry.latencyMs, ...(entry.error ? { error: entry.error } : {}) })),
      pending: pending.filter((d) => d.eventId === eventId).map((d) => ({ target: d.target, attempts: d.attempts, nextAttemptAt: new Date(d.nextAttemptAt).toISOString(), ...(d.lastError ? { lastError: d.lastError } : {}) })),
      deadLetters: dead.filter((d) => d.eventId === eventId).map((d) => ({ target: d.target, at: d.at, reason: d.reason })),
    });
  }
  // One change's events share detected_at: created/updated/deleted, then paid, then custom rules.
  const rank = (type: string): number => (/\.(created|updated|deleted)$/.test(type) ? 0 : type.endsWith(".paid") ? 1 : 2);
  events.sort((a, b) => (a.envelope?.detected_at ?? "").localeCompare(b.envelope?.detected_at ?? "") || rank(a.envelope?.type ?? "") - rank(b.envelope?.type ?? ""));
  const poller = pollerFor(ctx, source, resource.name);
  const horizons = await store.pruneHorizons();
  const budget = source.budget ? await ctx.budgets?.get(source.name)?.used() : undefined;
  const held = resourceState?.held?.records.some((r) => refKey(r) === refKey(ref));
  const missing = resourceState?.missing?.[refKey(ref)] !== undefined;
  const view = explainRecord({
    now: ctx.now,
    source: source.name,
    resource: resource.name,
    kind: ref.kind,
    id: ref.id,
    refKey: refKey(ref),
    snapshot: snapshot ? { version: snapshot.version, gone: snapshot.gone === true, object: snapshot.gone ? null : (JSON.parse(snapshot.json) as JsonObject) } : null,
    events,
    passes,
    rules: { ignoreFields: poller?.rules.ignoreFields ?? [], transitions: poller?.rules.transitions ?? [], start: startText(resource.start ?? source.start) },
    targets: ctx.config.targets.map((target) => ({
      name: target.name,
      accepts: (type, from) => targetAccepts(target, { type, source: from }),
      events: target.events ?? null,
      sources: target.sources ?? null,
    })),
    blocks: {
      ...(sourceState?.suspended ? { sourceSuspended: { at: sourceState.suspended.at, reason: sourceState.suspended.reason } } : {}),
      ...(resourceState?.suspended ? { resourceSuspended: { at: resourceState.suspended.at, reason: resourceState.suspended.reason } } : {}),
      ...(sourceState?.backoffUntil ? { backoffUntil: sourceState.backoffUntil, ...(sourceState.backoffReason ? { backoffReason: sourceState.backoffReason } : {}) } : {}),
      ...(budget && source.budget && budget.left <= 0 ? { budgetSpent: { period: budget.period, requests: source.budget.requests, per: source.budget.per } } : {}),
      ...(missing ? { missingSince: resourceState?.lastReconcileAt ?? "the last reconcile" } : {}),
      ...(held ? { heldSince: resourceState!.held!.at } : {}),
    },
    ...(resourceState?.lastPassAt ? { lastPassAt: resourceState.lastPassAt } : {}),
    ...(resourceState?.lastReconcileAt ? { lastReconcileAt: resourceState.lastReconcileAt } : {}),
    reconcileSchedule: source.reconcile,
    eventRetention: formatDuration(retentionOf(ctx.config).events),
    ...(horizons.events ? { prunedBefore: horizons.events } : {}),
  });
  return view;
}

/** `--event ID`: the record the event belongs to, explained, with that event in focus. */
export async function explainEventById(ctx: ExplainContext, eventId: string): Promise<ExplainResult> {
  const stored = await ctx.store.getEvent(eventId);
  if (!stored) throw new HttpError(404, await missingEventText(ctx.config, ctx.store, eventId));
  const { source, resource, record_id: id, kind } = stored.envelope;
  if (source === null || resource === null) throw new HttpError(400, `event ${eventId} belongs to no record (a test event)`);
  const view = await explainRecordAt(ctx, { source, resource, id: String(id), kind });
  return { ...view, focus: eventId };
}

function pollerFor(ctx: ExplainContext, source: SourceConfig, resource: string): ResourcePoller | undefined {
  const live = ctx.pollers?.(source.name);
  if (live) return live.find((p) => p.resource === resource);
  // Outside the daemon: the source's pollers, built without any request being made.
  const built = createSource(source, { clock: systemClock(), logger: silentLogger() });
  try {
    return built.pollers.find((p) => p.resource === resource);
  } finally {
    built.close();
  }
}

function startText(start: StartMode): string {
  return start.mode === "since" ? `{since: ${start.since}}` : start.mode;
}
