import type { Replica } from "../cluster/replica.js";
import { clusterView, type ClusterView } from "../cluster/view.js";
import { redactedUrl } from "../telemetry/logger.js";
import type { Config, SourceConfig, TargetConfig } from "../config/types.js";
import { isRestSource } from "../config/types.js";
import { parseRefKey, type RecordRef } from "../core/types.js";
import type { Dispatcher, TargetStatus } from "../delivery/dispatcher.js";
import type { BudgetGate } from "../pipeline/budget.js";
import type { Scheduler } from "../pipeline/scheduler.js";
import { REPROBE_MS } from "../pipeline/poll-pass.js";
import { cursorText } from "../sources/cursor-text.js";
import { describeFact } from "../sources/facts.js";
import { retentionOf, type Retention, type RetentionStats } from "../pipeline/retention.js";
import type { DeadLetter, DeliveryLogEntry, PrunableKind, StateSizes, StateStore, Suspension } from "../store/store.js";
import { asTransportTarget, transportOf } from "../transports/index.js";

/**
 * What `status`, the admin API and the web UI show about sources and targets, built from the
 * state store (and, inside the daemon, the scheduler's and dispatcher's live state). Nothing
 * here carries a secret: target URLs lose their query and credentials, suspensions their hash.
 */

export interface StatusSources {
  config: Config;
  store: StateStore;
  now: number;
  budgets?: Map<string, BudgetGate>;
  scheduler?: Scheduler;
  dispatcher?: Dispatcher;
  replica?: Replica;
}

export interface SuspensionView {
  at: string;
  reason: string;
  until?: string;
  /** When the source tries again by itself (one request), `reprobe` after it began or was last refused. */
  nextProbeAt: string;
}

export interface ResourceView {
  name: string;
  /** Opaque, owned by the source (a time or a serial id). */
  cursor: unknown;
  /** The cursor as the vendor writes it (a date in its form, not epoch milliseconds), or null. */
  cursorText: string | null;
  initialized: boolean;
  /** Snapshots held (records known). */
  records: number;
  lastPassAt: string | null;
  lastReconcileAt: string | null;
  lastError: { at: string; message: string } | null;
  suspended: SuspensionView | null;
  /** Deletions held by max_delete_min / max_delete_ratio, released by `reset --accept-deletes`. */
  heldDeletions: { at: string; count: number } | null;
  /** Records missing once, deleted when the next reconcile misses them too. */
  awaitingConfirmation: number;
  /** Why no baseline is recorded yet (the first listings came back empty), or null. */
  waiting: string | null;
}

export type SourceHealth = "ok" | "new" | "running" | "failing" | "suspended" | "backoff" | "held";

export interface SourceView {
  name: string;
  type: string;
  schedule: string;
  reconcile: string;
  timezone: string;
  health: SourceHealth;
  lastPassAt: string | null;
  lastError: { at: string; message: string } | null;
  /** Next cron runs (only while the daemon runs). */
  nextPass: { incremental: string | null; reconcile: string | null } | null;
  running: { mode: string; since: string } | null;
  suspended: SuspensionView | null;
  backoff: { until: string; reason: string } | null;
  budget: { requests: number; per: string; used: number; left: number; period: string } | null;
  /** What the source learned about the vendor account (e.g. a key that cannot read an audit log), with since when; `reset --source` forgets it. */
  facts: Array<{ name: string; since: string; text: string }>;
  resources: ResourceView[];
}

export type TargetHealth = "ok" | "pending" | "failing" | "paused";

export interface TargetView {
  name: string;
  /** Origin and path only (a query may hold a token); for brokers with the destination template. */
  url: string;
  /** The transport: http, nats, amqp, redis-stream. */
  type: string;
  format: string;
  events: string[] | null;
  sources: string[] | null;
  health: TargetHealth;
  pending: number;
  inFlight: number | null;
  oldestPending: { eventId: string; detectedAt: string; ageSeconds: number } | null;
  deadLetters: number;
  paused: { at: string; reason: string } | null;
  /** Live breaker state (only while the daemon runs). */
  breaker: { status: "closed" | "open"; failures: number; reason?: string; openedAt?: string; probeAt?: string } | null;
  /** Live state of a broker target's connection (only while the daemon runs; null for HTTP): `idle` before the first send, `connected`, `reconnecting` or `down`, with the last error (credentials removed). */
  connection: { state: string; since: string; lastError: string | null } | null;
  lastAttempt: { at: string; outcome: string; status: number | null; error: string | null; eventId: string; eventType: string } | null;
  /** Where the target's filter and transform are written (`expressions.NAME`, `targets[i].filter`), or null. */
  filter: string | null;
  transform: string | null;
  /** Events its filter turned away, among the delivery log entries kept. */
  filtered: number;
}

export interface StatusView {
  generatedAt: string;
  daemon: boolean;
  sources: SourceView[];
  targets: TargetView[];
  /** Replicas: who runs and which owns each source. */
  cluster?: ClusterView;
}

/** What `status` and `GET /api/state` say about the state's size and retention. */
export interface StateView {
  backend: "sqlite" | "postgres";
  sizes: StateSizes;
  /** Per kind: the cutoff of the last finished sweep (older entries are gone). */
  prunedBefore: Partial<Record<PrunableKind, string>>;
  retention: { events: string; delivery_log: string; dead_letters: string };
  /** Inside the daemon: its sweeps. */
  sweeps: RetentionStats | null;
}

export async function stateView(config: Config, store: StateStore, retention?: Retention): Promise<StateView> {
  const policy = retentionOf(config);
  return {
    backend: config.state.url.startsWith("postgres") ? "postgres" : "sqlite",
    sizes: await store.stateSizes(),
    prunedBefore: await store.pruneHorizons(),
    retention: { events: formatDuration(policy.events), delivery_log: formatDuration(policy.delivery_log), dead_letters: formatDuration(policy.dead_letters) },
    sweeps: retention?.status() ?? null,
  };
}

/** `2592000000` → `30d`, `600000` → `10m`, `90000` → `1m30s`. */
export function formatDuration(ms: number): string {
  const units: Array<[string, number]> = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]];
  let left = ms;
  let out = "";
  for (const [unit, size] of units) {
    const n = Math.floor(left / size);
    if (n > 0) out += `${n}${unit}`;
    left -= n * size;
  }
  return out || "0s";
}

/** What to say about an event id the state does not hold: never detected, or pruned (and since when). */
export async function missingEventText(config: Config, store: StateStore, eventId: string): Promise<string> {
  const horizon = (await store.pruneHorizons()).events;
  const kept = formatDuration(retentionOf(config).events);
  return `no event "${eventId}" in state: never detected here, or pruned (state.retention.events = ${kept}${horizon ? `; events detected before ${horizon} are gone` : ""})`;
}

export async function collectStatus(input: StatusSources): Promise<StatusView> {
  const sources: SourceView[] = [];
  for (const source of input.config.sources) sources.push(await sourceView(input, source));
  const targets: TargetView[] = [];
  const live = input.dispatcher?.status();
  for (const target of input.config.targets) targets.push(await targetView(input, target, live?.find((t) => t.name === target.name)));
  const cluster = input.replica && input.store.cluster ? await clusterView(input.store.cluster, input.replica) : undefined;
  return { generatedAt: new Date(input.now).toISOString(), daemon: input.scheduler !== undefined, sources, targets, ...(cluster ? { cluster } : {}) };
}

export async function sourceView(input: StatusSources, source: SourceConfig): Promise<SourceView> {
  const { store } = input;
  const state = (await store.getSourceState(source.name)) ?? {};
  const resources: ResourceView[] = [];
  for (const resource of source.resources) {
    const id = { source: source.name, resource: resource.name };
    const rs = await store.getResourceState(id);
    resources.push({
      name: resource.name,
      cursor: rs?.cursor ?? null,
      cursorText: cursorText(source, resource.name, rs?.cursor),
      initialized: rs?.initialized ?? false,
      records: await store.countSnapshots(id),
      lastPassAt: rs?.lastPassAt ?? null,
      lastReconcileAt: rs?.lastReconcileAt ?? null,
      lastError: rs?.lastError ?? null,
      suspended: suspensionView(rs?.suspended, source),
      heldDeletions: rs?.held ? { at: rs.held.at, count: rs.held.records.length } : null,
      awaitingConfirmation: Object.keys(rs?.missing ?? {}).length,
      waiting: rs?.awaitingRecords && !rs.initialized ? `waiting for a first non-empty listing (empty since ${rs.awaitingRecords}); that listing is the silent baseline` : null,
    });
  }
  const run = input.scheduler?.state(source.name);
  const next = input.scheduler?.nextRuns(source.name);
  const budget = await input.budgets?.get(source.name)?.used();
  const backoff = state.backoffUntil && Date.parse(state.backoffUntil) > input.now ? { until: state.backoffUntil, reason: state.backoffReason ?? "the vendor asked to wait" } : null;
  const lastPassAt = latest([state.lastPassAt, ...resources.map((r) => r.lastPassAt)]);
  const errors = [state.lastError, ...resources.map((r) => r.lastError)].filter((e): e is { at: string; message: string } => Boolean(e));
  const lastError = errors.sort((a, b) => b.at.localeCompare(a.at))[0] ?? null;
  const suspended = suspensionView(state.suspended, source);
  const view: SourceView = {
    name: source.name,
    type: isRestSource(source) ? "rest" : `preset ${source.preset}`,
    schedule: source.schedule,
    reconcile: source.reconcile,
    timezone: source.timezone,
    health: "ok",
    lastPassAt,
    lastError,
    nextPass: next ? { incremental: next.incremental ?? null, reconcile: next.reconcile ?? null } : null,
    running: run?.running ? { mode: run.running.mode, since: new Date(run.running.since).toISOString() } : null,
    suspended,
    backoff,
    budget: budget && source.budget ? { requests: source.budget.requests, per: source.budget.per, ...budget } : null,
    facts: Object.entries(state.facts ?? {}).map(([name, since]) => ({ name, since, text: describeFact(name) })),
    resources,
  };
  view.health = sourceHealth(view);
  return view;
}

function sourceHealth(view: SourceView): SourceHealth {
  if (view.suspended || view.resources.some((r) => r.suspended)) return "suspended";
  if (view.backoff) return "backoff";
  if (view.resources.some((r) => r.lastError)) return "failing";
  if (view.resources.some((r) => r.heldDeletions)) return "held";
  if (view.running) return "running";
  if (view.resources.every((r) => !r.initialized)) return "new";
  return "ok";
}

export async function targetView(input: StatusSources, target: TargetConfig, live?: TargetStatus): Promise<TargetView> {
  const { store } = input;
  const pending = await store.listPending(target.name);
  const first = pending[0];
  const firstEvent = first ? await store.getEvent(first.eventId) : undefined;
  const dead = await store.listDeadLetters(target.name);
  // The last attempt to send: `filtered` entries are routing's decisions, not attempts.
  const log = target.filter ? await store.listLog({ target: target.name, limit: Number.MAX_SAFE_INTEGER }) : await store.listLog({ target: target.name, limit: 50 });
  const last = log.find((entry) => entry.outcome !== "filtered");
  const paused = live ? (live.paused ?? null) : ((await store.getTargetState(target.name))?.paused ?? null);
  const breaker = live?.breaker;
  const view: TargetView = {
    name: target.name,
    url: destinationOf(target),
    type: transportOf(target).type,
    format: target.format,
    events: target.events ?? null,
    sources: target.sources ?? null,
    health: "ok",
    pending: pending.length,
    inFlight: live ? live.inFlight : null,
    oldestPending:
      first && firstEvent
        ? { eventId: first.eventId, detectedAt: firstEvent.envelope.detected_at, ageSeconds: Math.max(0, Math.round((input.now - Date.parse(firstEvent.envelope.detected_at)) / 1000)) }
        : null,
    deadLetters: dead.length,
    paused: paused ? { at: paused.at, reason: paused.reason } : null,
    breaker: breaker
      ? breaker.status === "open"
        ? { status: "open", failures: breaker.consecutiveFailures, reason: breaker.reason, openedAt: iso(breaker.openedAt), probeAt: iso(breaker.probeAt) }
        : { status: "closed", failures: breaker.consecutiveFailures }
      : null,
    connection: live?.connection ? { state: live.connection.state, since: live.connection.since, lastError: live.connection.lastError ?? null } : null,
    lastAttempt: last
      ? { at: last.at, outcome: last.outcome, status: last.status ?? null, error: last.error ?? null, eventId: last.eventId, eventType: last.eventType }
      : null,
    filter: target.filter?.label ?? null,
    transform: target.transform?.label ?? null,
    filtered: log.filter((entry) => entry.outcome === "filtered").length,
  };
  view.health = view.paused ? "paused" : view.breaker?.status === "open" || (view.lastAttempt && view.lastAttempt.outcome !== "delivered") ? "failing" : view.pending > 0 ? "pending" : "ok";
  return view;
}

/** A record key as people read it: `source/resource/id`, or `source/resource/kind:id`. */
export interface RecordLabel extends RecordRef {
  source: string;
  resource: string;
  label: string;
}

export function describeRecordKey(key: string): RecordLabel {
  const first = key.indexOf("/");
  const second = key.indexOf("/", first + 1);
  if (first < 0 || second < 0) return { source: "", resource: "", kind: null, id: key, label: key };
  const source = key.slice(0, first);
  const resource = key.slice(first + 1, second);
  const ref = key.includes("\u001f") ? parseRefKey(key.slice(second + 1)) : { kind: null, id: key.slice(second + 1) };
  return { source, resource, ...ref, label: `${source}/${resource}/${ref.kind ? `${ref.kind}:` : ""}${ref.id}` };
}

/** Whether a record key matches what an operator typed: its label, `kind:id`, or the bare id. */
export function recordMatches(key: string, wanted: string): boolean {
  const record = describeRecordKey(key);
  return record.label === wanted || record.id === wanted || record.label.endsWith(`/${wanted}`);
}

export interface LogFilter {
  target?: string;
  /** Exact event type, or a glob with `*` (`item.*`). */
  type?: string;
  /** An outcome (`delivered`, `retry`, `dead`, `failed`, `filtered`) or an HTTP status. */
  status?: string;
  /** A record id, `kind:id` or `source/resource/id`. */
  record?: string;
  eventId?: string;
  /** An exact record key (the record view). */
  recordKey?: string;
  limit?: number;
}

export interface LogEntryView extends Omit<DeliveryLogEntry, "recordKey"> {
  record: RecordLabel;
  /** `method` is the transport's verb: POST, PUBLISH, XADD. */
  request: { method: string; url: string; format: string };
  /** The first bytes of the response body, kept for the attempt that dead-lettered. */
  responseBody?: string;
}

/** The delivery log, newest first, filtered; each attempt with its request and response summary. */
export async function deliveryLog(config: Config, store: StateStore, filter: LogFilter): Promise<LogEntryView[]> {
  const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
  const rows = await store.listLog({ ...(filter.target ? { target: filter.target } : {}), limit: Number.MAX_SAFE_INTEGER });
  const typePattern = filter.type ? globRegExp(filter.type) : undefined;
  const deadBodies = new Map<string, string>();
  for (const dead of await store.listDeadLetters(filter.target)) {
    if (dead.response?.body) deadBodies.set(`${dead.target}\u0000${dead.eventId}\u0000${dead.attempts}`, dead.response.body);
  }
  const out: LogEntryView[] = [];
  rows.sort((a, b) => b.at.localeCompare(a.at));
  for (const row of rows) {
    if (typePattern && !typePattern.test(row.eventType)) continue;
    if (filter.status && row.outcome !== filter.status && String(row.status ?? "") !== filter.status) continue;
    if (filter.record && !recordMatches(row.recordKey, filter.record)) continue;
    if (filter.eventId && row.eventId !== filter.eventId) continue;
    if (filter.recordKey && row.recordKey !== filter.recordKey) continue;
    const target = config.targets.find((t) => t.name === row.target);
    const { recordKey, ...rest } = row;
    const responseBody = row.outcome === "dead" ? deadBodies.get(`${row.target}\u0000${row.eventId}\u0000${row.attempt}`) : undefined;
    out.push({
      ...rest,
      record: describeRecordKey(recordKey),
      request: target
        ? { method: transportOf(target).verb, url: destinationOf(target), format: target.format }
        : { method: "POST", url: "(target no longer configured)", format: "unknown" },
      ...(responseBody !== undefined ? { responseBody } : {}),
    });
    if (out.length >= limit) break;
  }
  return out;
}

export interface DeadLetterView extends Omit<DeadLetter, "recordKey"> {
  record: RecordLabel;
  eventType: string | null;
}

export async function deadLetters(store: StateStore, target?: string): Promise<DeadLetterView[]> {
  const rows = await store.listDeadLetters(target);
  const out: DeadLetterView[] = [];
  for (const { recordKey, ...row } of rows) {
    const event = await store.getEvent(row.eventId);
    out.push({ ...row, record: describeRecordKey(recordKey), eventType: event?.envelope.type ?? null });
  }
  return out.sort((a, b) => b.at.localeCompare(a.at));
}

function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

function suspensionView(suspension: Suspension | undefined, source: SourceConfig): SuspensionView | null {
  if (!suspension) return null;
  const nextProbeAt = new Date(Date.parse(suspension.probedAt ?? suspension.at) + (source.reprobe ?? REPROBE_MS)).toISOString();
  return { at: suspension.at, reason: suspension.reason, ...(suspension.until ? { until: suspension.until } : {}), nextProbeAt };
}

/** Where a target's deliveries go, without credentials (the transport says), the path redacted. */
function destinationOf(target: TargetConfig): string {
  return redactedUrl(transportOf(target).destination(asTransportTarget(target)));
}

function latest(values: Array<string | null | undefined>): string | null {
  const present = values.filter((v): v is string => typeof v === "string");
  return present.sort().at(-1) ?? null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
