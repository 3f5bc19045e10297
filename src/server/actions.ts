import { randomBytes } from "node:crypto";
import type { Config } from "../config/types.js";
import { routeEvent, routeWithExpressions } from "../core/routing.js";
import { recordKey, refKey, type EventEnvelope, type JsonObject } from "../core/types.js";
import type { Dispatcher } from "../delivery/dispatcher.js";
import { resetResources } from "../pipeline/reset.js";
import { resumeResources, type ResumeResult } from "../pipeline/resume.js";
import type { PassMode, PassOutcome } from "../pipeline/poll-pass.js";
import type { Scheduler } from "../pipeline/scheduler.js";
import type { Delivery, StateStore, StoredEvent } from "../store/store.js";
import { HttpError } from "./http.js";
import { deliveryLog, missingEventText, type LogEntryView } from "./read-model.js";

/**
 * The operator's actions, shared by the admin API (inside the daemon, with its dispatcher) and
 * the CLI (on the state file when no daemon holds it). Failures are `HttpError`s whose status
 * says what kind (404 unknown name, 409 not now), with a message naming what and where.
 */

export interface ActionContext {
  config: Config;
  store: StateStore;
  now: number;
  /** Inside the daemon: requeued deliveries go straight to it. */
  dispatcher?: Dispatcher;
  scheduler?: Scheduler;
}

export interface ReplayResult {
  requeued: number;
  targets: string[];
  /** `dead-letters`: dead letters moved back to pending; `event`: a new delivery of a stored event. */
  from?: "dead-letters" | "event";
}

function requireTarget(config: Config, name: string): void {
  if (!config.targets.some((t) => t.name === name)) {
    throw new HttpError(404, `no target named "${name}" (configured: ${config.targets.map((t) => t.name).join(", ") || "none"})`);
  }
}

function summarise(deliveries: Delivery[]): ReplayResult {
  return { requeued: deliveries.length, targets: [...new Set(deliveries.map((d) => d.target))] };
}

/**
 * Replays one event, keeping its id: its dead letters (of `target`, or of every target) go back
 * to pending; without dead letters, a new delivery goes to `target` or to the targets its type
 * and source route to today.
 */
export async function replayEvent(ctx: ActionContext, eventId: string, target?: string): Promise<ReplayResult> {
  if (target) requireTarget(ctx.config, target);
  const event = await ctx.store.getEvent(eventId);
  if (!event) throw new HttpError(404, await missingEventText(ctx.config, ctx.store, eventId));
  const dead = (await ctx.store.listDeadLetters(target)).filter((d) => d.eventId === eventId && ctx.config.targets.some((t) => t.name === d.target));
  let deliveries: Delivery[] = [];
  if (dead.length > 0) {
    for (const name of new Set(dead.map((d) => d.target))) deliveries.push(...(await ctx.store.requeueDeadLetters(name, eventId)));
  } else {
    const envelope = event.envelope;
    const targets = target ? [target] : routeEvent(envelope, ctx.config.targets);
    if (targets.length === 0) throw new HttpError(409, `event "${eventId}" (${envelope.type} from ${envelope.source}) is routed to no configured target; name one`);
    const key = recordKey(envelope.source, envelope.resource ?? "", { kind: envelope.kind, id: envelope.record_id ?? "" });
    deliveries = await ctx.store.requeueEvent(eventId, targets, key);
  }
  ctx.dispatcher?.enqueued(deliveries);
  return { ...summarise(deliveries), from: dead.length > 0 ? "dead-letters" : "event" };
}

/**
 * Every dead letter of `target` (or of every configured target) back to pending, ids kept.
 * With `to`, the dead letters of `target` — which may be a target no longer configured (renamed
 * or removed) — go to the configured target `to` instead.
 */
export async function replayDeadLetters(ctx: ActionContext, target?: string, to?: string): Promise<ReplayResult> {
  if (to !== undefined) {
    if (target === undefined) throw new HttpError(400, `"to" needs "target": the target whose dead letters go to "${to}"`);
    requireTarget(ctx.config, to);
  } else if (target) requireTarget(ctx.config, target);
  const deliveries: Delivery[] = [];
  for (const name of target ? [target] : ctx.config.targets.map((t) => t.name)) {
    deliveries.push(...(await ctx.store.requeueDeadLetters(name, undefined, to)));
  }
  ctx.dispatcher?.enqueued(deliveries);
  return summarise(deliveries);
}

/** A `retrohook.test` event: not about any record, never stored. */
export function testEvent(now: number): StoredEvent {
  const envelope: EventEnvelope = {
    id: `evt_test_${randomBytes(12).toString("hex")}`,
    type: "retrohook.test",
    source: "retrohook",
    resource: null,
    kind: null,
    record_id: null,
    detected_at: new Date(now).toISOString(),
    data: { object: { message: "a test event from retrohook; no record changed" } },
  };
  return { envelope, body: JSON.stringify(envelope) };
}

export interface TestResult {
  target: string;
  eventId: string;
  ok: boolean;
  status: number | null;
  latencyMs: number;
  /** Why it did not reach the target (no response), or what the answer means. */
  verdict: string;
  /** The first bytes of the response body. */
  responseBody: string;
}

/** One signed `retrohook.test` POST (or `event`) straight to a target (outside the outbox, even when it is paused). */
export async function sendTestEvent(dispatcher: Dispatcher, config: Config, target: string, now: number, event: StoredEvent = testEvent(now)): Promise<TestResult> {
  requireTarget(config, target);
  const { result, verdict } = await dispatcher.sendTest(target, event);
  const ok = result.outcome === "delivered";
  return { target, eventId: event.envelope.id, ok, status: result.status ?? null, latencyMs: result.latencyMs, verdict: verdict.reason, responseBody: result.response ?? "" };
}

export async function pauseTarget(ctx: ActionContext, target: string, reason?: string): Promise<void> {
  requireTarget(ctx.config, target);
  if (ctx.dispatcher) await ctx.dispatcher.pause(target, reason);
  else await ctx.store.putTargetState(target, { paused: { at: new Date(ctx.now).toISOString(), reason: reason ?? "paused by an operator" } });
}

export async function resumeTarget(ctx: ActionContext, target: string): Promise<void> {
  requireTarget(ctx.config, target);
  if (ctx.dispatcher) await ctx.dispatcher.resume(target);
  else await ctx.store.putTargetState(target, {});
}

function requireSource(config: Config, name: string): Config["sources"][number] {
  const source = config.sources.find((s) => s.name === name);
  if (!source) throw new HttpError(404, `no source named "${name}" (configured: ${config.sources.map((s) => s.name).join(", ") || "none"})`);
  return source;
}

export interface PassResult {
  source: string;
  mode: PassMode;
  /** `queued`: a pass was running; a reconcile then runs right after it. */
  state: "started" | "done" | "queued" | "skipped";
  outcomes?: PassOutcome[];
}

/** A pass of a source now; with `wait`, resolves with its outcomes. */
export async function runPassNow(scheduler: Scheduler | undefined, config: Config, name: string, mode: PassMode, wait: boolean): Promise<PassResult> {
  requireSource(config, name);
  if (!scheduler?.isRunning()) throw new HttpError(503, "the scheduler is not running");
  if (scheduler.state(name)?.running) {
    if (mode === "incremental") throw new HttpError(409, `a pass of "${name}" is running; try again when it has finished`);
    void scheduler.trigger(name, mode);
    return { source: name, mode, state: "queued" };
  }
  const pass = scheduler.trigger(name, mode);
  if (!wait) {
    void pass;
    return { source: name, mode, state: "started" };
  }
  const outcomes = await pass;
  return outcomes ? { source: name, mode, state: "done", outcomes } : { source: name, mode, state: "skipped" };
}

/** How long a reset waits for a running pass of the source before giving up with 409. */
const RESET_WAIT_MS = 30_000;

/**
 * Waits until no pass of the source runs. The reset's store calls that follow complete without
 * real I/O waits (SQLite is synchronous), so no cron tick can start a pass in between.
 */
async function passFinished(scheduler: Scheduler | undefined, name: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (scheduler?.state(name)?.running) {
    if (Date.now() - started > timeoutMs) throw new HttpError(409, `a pass of "${name}" has been running for over ${timeoutMs / 1000} s; reset when it has finished`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ResetActionResult {
  source: string;
  resources: string[];
  released: number;
  acceptDeletes: boolean;
}

/** `reset` of a source (or one resource): forget state, or release held deletions. Not during a pass. */
export async function resetSource(ctx: ActionContext, name: string, resource: string | undefined, acceptDeletes: boolean): Promise<ResetActionResult> {
  const source = requireSource(ctx.config, name);
  if (resource && !source.resources.some((r) => r.name === resource)) {
    throw new HttpError(404, `source "${name}" has no resource "${resource}" (configured: ${source.resources.map((r) => r.name).join(", ")})`);
  }
  await passFinished(ctx.scheduler, name, RESET_WAIT_MS);
  const result = await resetResources(ctx.store, source, resource, { acceptDeletes, now: ctx.now, route: (e) => routeWithExpressions(e, ctx.config.targets) });
  ctx.dispatcher?.enqueued(result.deliveries);
  return { source: name, resources: result.resources, released: result.released, acceptDeletes };
}

/** `resume` of a source (or one resource): lift suspensions and back-off, keep the state. Not during a pass. */
export async function resumeSource(ctx: ActionContext, name: string, resource: string | undefined): Promise<ResumeResult & { name: string }> {
  const source = requireSource(ctx.config, name);
  if (resource && !source.resources.some((r) => r.name === resource)) {
    throw new HttpError(404, `source "${name}" has no resource "${resource}" (configured: ${source.resources.map((r) => r.name).join(", ")})`);
  }
  await passFinished(ctx.scheduler, name, RESET_WAIT_MS);
  return { name, ...(await resumeResources(ctx.store, source, resource)) };
}

export interface RecordView {
  source: string;
  resource: string;
  kind: string | null;
  id: string;
  snapshot: { version: number; gone: boolean; object: JsonObject | null } | null;
  /** Every event detected for this record (the last 1,000), oldest first, with its deliveries. */
  events: Array<{ id: string; type: string; detected_at: string; previous: JsonObject | null; deliveries: Array<Pick<LogEntryView, "at" | "target" | "attempt" | "outcome" | "status" | "error">>; pending: string[]; deadLetters: string[] }>;
}

export async function recordView(ctx: Pick<ActionContext, "config" | "store">, input: { source: string; resource: string; id: string; kind?: string | null }): Promise<RecordView> {
  const source = requireSource(ctx.config, input.source);
  if (!source.resources.some((r) => r.name === input.resource)) {
    throw new HttpError(404, `source "${input.source}" has no resource "${input.resource}" (configured: ${source.resources.map((r) => r.name).join(", ")})`);
  }
  const ref = { kind: input.kind ?? null, id: input.id };
  const snapshots = await ctx.store.getSnapshots({ source: input.source, resource: input.resource }, [ref]);
  const snapshot = snapshots.get(refKey(ref));
  const key = recordKey(input.source, input.resource, ref);
  const pending = (await ctx.store.listPending()).filter((d) => d.recordKey === key);
  const dead = (await ctx.store.listDeadLetters()).filter((d) => d.recordKey === key);
  const log = await deliveryLog(ctx.config, ctx.store, { recordKey: key, limit: 1000 });
  const ids = new Set(await ctx.store.listEventIdsForRecord(key));
  const events: RecordView["events"] = [];
  for (const id of ids) {
    const event = await ctx.store.getEvent(id);
    if (!event) continue;
    events.push({
      id,
      type: event.envelope.type,
      detected_at: event.envelope.detected_at,
      previous: event.envelope.data.previous ?? null,
      deliveries: log
        .filter((l) => l.eventId === id)
        .reverse()
        .map((l) => ({ at: l.at, target: l.target, attempt: l.attempt, outcome: l.outcome, status: l.status, error: l.error })),
      pending: pending.filter((d) => d.eventId === id).map((d) => d.target),
      deadLetters: dead.filter((d) => d.eventId === id).map((d) => d.target),
    });
  }
  // One change's events share detected_at and were detected updated/created, then paid, then custom.
  const rank = (type: string): number => (/\.(created|updated|deleted)$/.test(type) ? 0 : type.endsWith(".paid") ? 1 : 2);
  events.sort((a, b) => a.detected_at.localeCompare(b.detected_at) || rank(a.type) - rank(b.type));
  return {
    source: input.source,
    resource: input.resource,
    kind: ref.kind,
    id: input.id,
    snapshot: snapshot ? { version: snapshot.version, gone: snapshot.gone === true, object: snapshot.gone ? null : (JSON.parse(snapshot.json) as JsonObject) } : null,
    events,
  };
}
