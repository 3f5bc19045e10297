import { getPath } from "./fingerprint.js";
import { transitionFields, transitionVerdict, type Transition } from "./transitions.js";
import type { EventEnvelope, JsonObject, JsonValue } from "./types.js";

/**
 * `retrohook explain`: why a record fired — or why it did not. Pure: the caller gathers the
 * record's snapshot, its events with their deliveries, the resource's pass journal and the
 * states that can block a pass; this turns them into a timeline and a list of reasons.
 *
 * Words: a pass *saw* a record when its listing returned it — every live record for a complete
 * listing (first pass, reconcile), the journal's `listed` keys for an incremental one.
 */

/** Every reason `explain` can give for an event that did not fire (test/server/explain-reasons.test.ts scripts each one). */
export const WHY_NOT_REASONS = [
  "unknown-record",
  "baseline",
  "unchanged",
  "ignored-fields",
  "transition-already-true",
  "transition-from-mismatch",
  "not-seen-since",
  "deletion-awaiting-confirmation",
  "deletion-held",
  "source-suspended",
  "resource-suspended",
  "backing-off",
  "out-of-budget",
  "not-routed",
  "filtered",
  "pruned",
] as const;

export type WhyNotReason = (typeof WHY_NOT_REASONS)[number];

export interface WhyNot {
  reason: WhyNotReason;
  text: string;
}

/**
 * One pass over one resource, kept in a bounded per-resource journal (the store keeps the last
 * `PASS_HISTORY_LIMIT`). A complete listing saw every live record; an incremental one names the
 * records it listed.
 */
export interface PassEntry {
  /** When the pass started (`detected_at` of its events). */
  at: string;
  mode: "incremental" | "reconcile";
  /** `complete` lists every record (first pass, reconcile, no cursor yet). */
  listing: "complete" | "incremental";
  /** The resource's first complete pass (the silent baseline, unless `start` says otherwise). */
  firstRun: boolean;
  /** A first listing that came back empty: no baseline was recorded, the resource waits for records. */
  awaiting?: boolean;
  ok: boolean;
  error?: string;
  records: number;
  events: number;
  baselined: number;
  deleted: number;
  held?: number;
  /** Record keys (`refKey`) an incremental listing returned, up to `PASS_LISTED_LIMIT`. */
  listed?: string[];
  /** False when the incremental listing returned more records than `listed` holds. */
  listedAll?: boolean;
  /** Records whose text changed only in `ignore_fields` (no event): refKey → the changed fields. */
  ignoredOnly?: Record<string, string[]>;
}

export interface ExplainAttempt {
  at: string;
  target: string;
  attempt: number;
  outcome: string;
  status?: number;
  latencyMs?: number;
  error?: string;
}

export interface ExplainEventInput {
  id: string;
  /** Undefined when the event's body was pruned (`state.retention.events`). */
  envelope?: EventEnvelope;
  attempts: ExplainAttempt[];
  pending: Array<{ target: string; attempts: number; nextAttemptAt: string; lastError?: string }>;
  deadLetters: Array<{ target: string; at: string; reason: string }>;
}

export interface ExplainTarget {
  name: string;
  /** Whether the target's `events` / `sources` select this event type from this source. */
  accepts(type: string, source: string): boolean;
  events: string[] | null;
  sources: string[] | null;
}

export interface ExplainInput {
  now: number;
  source: string;
  resource: string;
  kind: string | null;
  id: string;
  /** `refKey` of the record: the key the journal lists. */
  refKey: string;
  snapshot: { version: number; gone: boolean; object: JsonObject | null } | null;
  /** Oldest first. */
  events: ExplainEventInput[];
  /** The resource's journal, oldest first. */
  passes: PassEntry[];
  rules: { ignoreFields: readonly string[]; transitions: readonly Transition[]; start: string };
  targets: ExplainTarget[];
  blocks: {
    sourceSuspended?: { at: string; reason: string };
    resourceSuspended?: { at: string; reason: string };
    backoffUntil?: string;
    backoffReason?: string;
    budgetSpent?: { period: string; requests: number; per: string };
    missingSince?: string;
    heldSince?: string;
  };
  /** When the resource last completed a pass, and a reconcile. */
  lastPassAt?: string;
  lastReconcileAt?: string;
  reconcileSchedule: string;
  /** `state.retention.events`, for the pruned message. */
  eventRetention?: string;
  /** The cutoff of the last finished events sweep: events detected before it are gone. */
  prunedBefore?: string;
}

export interface FieldChange {
  field: string;
  before: JsonValue | null;
  after: JsonValue | null;
}

export interface RoutingVerdict {
  target: string;
  routed: boolean;
  why: string;
}

export interface ExplainedEvent {
  id: string;
  type: string | null;
  detectedAt: string | null;
  pruned: boolean;
  /** Which rule minted it and on which transition. */
  why: string;
  changes: FieldChange[];
  /** Rules that did not fire on this change, with why (only those that could have). */
  notFired: Array<{ event: string; verdict: string; text: string }>;
  routing: RoutingVerdict[];
  attempts: ExplainAttempt[];
  pending: ExplainEventInput["pending"];
  deadLetters: ExplainEventInput["deadLetters"];
}

export type TimelineItem =
  | { at: string; kind: "pass"; mode: string; listing: string; ok: boolean; firstRun: boolean; awaiting?: boolean; saw: "complete listing" | "listed"; error?: string; ignoredFields?: string[] }
  | { at: string; kind: "event"; event: ExplainedEvent };

export interface ExplainView {
  record: { source: string; resource: string; kind: string | null; id: string; state: "live" | "deleted" | "unknown"; version: number | null; object: JsonObject | null };
  firstSeen: string | null;
  lastSeen: string | null;
  timeline: TimelineItem[];
  events: ExplainedEvent[];
  whyNot: WhyNot[];
  /** Passes in the journal and since when (the journal is bounded). */
  journal: { passes: number; since: string | null };
}

export function explainRecord(input: ExplainInput): ExplainView {
  const events = input.events.map((event) => explainEvent(event, input));
  const live = input.snapshot !== null && !input.snapshot.gone;
  const createdAt = events.find((e) => e.type?.endsWith(".created"))?.detectedAt ?? null;
  const deletedAt = [...events].reverse().find((e) => e.type?.endsWith(".deleted"))?.detectedAt ?? null;

  // Passes that saw the record: incremental ones that listed it; complete ones while it was live.
  const firstListed = input.passes.find((pass) => sawByListing(pass, input.refKey));
  const firstRunPass = input.passes.find((pass) => pass.firstRun && pass.ok && !pass.awaiting);
  const baselined = input.snapshot !== null && createdAt === null && events.every((e) => !e.pruned);
  const from = createdAt ?? (baselined ? firstRunPass?.at ?? firstListed?.at ?? null : firstListed?.at ?? null);
  const sightings: TimelineItem[] = [];
  for (const pass of input.passes) {
    const listed = sawByListing(pass, input.refKey);
    const complete = pass.listing === "complete" && pass.ok && input.snapshot !== null && from !== null && pass.at >= from && (deletedAt === null || live || pass.at < deletedAt);
    if (!listed && !complete) continue;
    const ignored = pass.ignoredOnly?.[input.refKey];
    sightings.push({
      at: pass.at,
      kind: "pass",
      mode: pass.mode,
      listing: pass.listing,
      ok: pass.ok,
      firstRun: pass.firstRun,
      saw: listed ? "listed" : "complete listing",
      ...(pass.error ? { error: pass.error } : {}),
      ...(ignored ? { ignoredFields: ignored } : {}),
    });
  }
  const timeline: TimelineItem[] = [...sightings, ...events.map((event): TimelineItem => ({ at: event.detectedAt ?? "", kind: "event", event }))];
  timeline.sort((a, b) => a.at.localeCompare(b.at) || (a.kind === b.kind ? 0 : a.kind === "pass" ? -1 : 1));
  const lastSeen = sightings.length > 0 ? sightings[sightings.length - 1]!.at : null;

  const whyNot = reasons(input, events, { live, baselined, createdAt, lastSeen, sightings, firstRunPass });
  return {
    record: {
      source: input.source,
      resource: input.resource,
      kind: input.kind,
      id: input.id,
      state: input.snapshot === null ? "unknown" : input.snapshot.gone ? "deleted" : "live",
      version: input.snapshot?.version ?? null,
      object: input.snapshot?.object ?? null,
    },
    firstSeen: from ?? (sightings[0]?.at ?? null),
    lastSeen,
    timeline,
    events,
    whyNot,
    journal: { passes: input.passes.length, since: input.passes[0]?.at ?? null },
  };
}

function sawByListing(pass: PassEntry, key: string): boolean {
  return pass.listing === "incremental" && (pass.listed?.includes(key) ?? false);
}

interface Facts {
  live: boolean;
  baselined: boolean;
  createdAt: string | null;
  lastSeen: string | null;
  sightings: TimelineItem[];
  firstRunPass: PassEntry | undefined;
}

function reasons(input: ExplainInput, events: ExplainedEvent[], facts: Facts): WhyNot[] {
  const out: WhyNot[] = [];
  const { blocks } = input;
  // `resume` keeps cursors and snapshots (`reset` would start the source over): the same advice as the pass gives.
  const where = `retrohook resume --source ${input.source}`;
  if (blocks.sourceSuspended) {
    out.push({ reason: "source-suspended", text: `the source is suspended since ${blocks.sourceSuspended.at} (${blocks.sourceSuspended.reason}): no pass runs until its config changes or \`${where}\`` });
  }
  if (blocks.resourceSuspended) {
    out.push({ reason: "resource-suspended", text: `the resource is suspended since ${blocks.resourceSuspended.at} (${blocks.resourceSuspended.reason}): no pass runs until its config changes or \`${where} --resource ${input.resource}\`` });
  }
  if (blocks.backoffUntil && Date.parse(blocks.backoffUntil) > input.now) {
    out.push({ reason: "backing-off", text: `the source backs off until ${blocks.backoffUntil}${blocks.backoffReason ? ` (${blocks.backoffReason})` : ""}: no pass runs before then` });
  }
  if (blocks.budgetSpent) {
    out.push({ reason: "out-of-budget", text: `the request budget (${blocks.budgetSpent.requests} per ${blocks.budgetSpent.per}) is spent for ${blocks.budgetSpent.period}: no pass runs until the next period` });
  }
  if (input.snapshot === null && events.length === 0) {
    const last = input.passes[input.passes.length - 1];
    const waiting = last?.awaiting ? input.passes.find((pass) => pass.awaiting) : undefined;
    out.push({
      reason: "unknown-record",
      text: waiting
        ? `every listing of this resource has come back empty since ${waiting.at} (${input.passes.filter((pass) => pass.awaiting).length} passes): no baseline is recorded until a listing returns records`
        : last
        ? `no pass has listed this record (${input.passes.length} passes in the journal since ${input.passes[0]!.at}): check the id${input.kind ? ", the kind" : ""} and the resource; an incremental pass only lists records the vendor reports changed, a reconcile lists all (last reconcile: ${input.lastReconcileAt ?? "never"})`
        : "no pass has run for this resource yet",
    });
    return out;
  }
  if (facts.baselined) {
    const at = facts.firstRunPass?.at;
    out.push({
      reason: "baseline",
      text: `no created: the record already existed at the resource's first pass${at ? ` (${at})` : ""}, which records existing records silently (start: ${input.rules.start})`,
    });
  }
  const earliest = events.find((e) => e.detectedAt)?.detectedAt ?? null;
  if (input.prunedBefore && input.snapshot !== null && !events.some((e) => e.pruned) && (earliest === null || earliest > input.prunedBefore)) {
    out.push({
      reason: "pruned",
      text: `events detected before ${input.prunedBefore} are pruned (state.retention.events${input.eventRetention ? ` = ${input.eventRetention}` : ""}): any earlier event of this record is no longer kept`,
    });
  }
  for (const event of events) {
    if (event.pruned) {
      out.push({ reason: "pruned", text: `event ${event.id} was pruned (state.retention.events${input.eventRetention ? ` = ${input.eventRetention}` : ""}): its body and deliveries are no longer kept` });
    }
    for (const miss of event.notFired) {
      if (miss.verdict === "already-true") out.push({ reason: "transition-already-true", text: `${event.detectedAt}: ${miss.text}` });
      if (miss.verdict === "from-mismatch") out.push({ reason: "transition-from-mismatch", text: `${event.detectedAt}: ${miss.text}` });
    }
    for (const route of event.routing) {
      if (route.routed) continue;
      out.push({ reason: route.why.startsWith("filtered") ? "filtered" : "not-routed", text: `${event.type ?? event.id} → ${route.target}: ${route.why}` });
    }
  }
  for (const item of facts.sightings) {
    if (item.kind === "pass" && item.ignoredFields) {
      out.push({ reason: "ignored-fields", text: `${item.at}: only ignore_fields changed (${item.ignoredFields.join(", ")}): no event` });
    }
  }
  // Passes that saw it after its last event and found nothing to report.
  const lastEventAt = events.reduce<string | null>((latest, e) => (e.detectedAt && (!latest || e.detectedAt > latest) ? e.detectedAt : latest), null);
  const quiet = facts.sightings.filter((item) => item.kind === "pass" && item.ok && (!lastEventAt || item.at > lastEventAt) && !item.firstRun && !item.ignoredFields);
  if (facts.live && quiet.length > 0) {
    out.push({
      reason: "unchanged",
      text: `${quiet.length} pass${quiet.length === 1 ? "" : "es"} saw it since ${lastEventAt ? `its last event (${lastEventAt})` : "it was first recorded"}, the last at ${quiet[quiet.length - 1]!.at}, and found the same text or the same fingerprint${input.rules.ignoreFields.length > 0 ? ` (ignore_fields: ${input.rules.ignoreFields.join(", ")})` : ""}: nothing changed to report`,
    });
  }
  if (facts.live && facts.lastSeen) {
    const after = input.passes.filter((pass) => pass.ok && pass.at > facts.lastSeen!);
    if (after.length > 0) {
      out.push({
        reason: "not-seen-since",
        text: `not seen since ${facts.lastSeen}: the ${after.length} pass${after.length === 1 ? "" : "es"} after it did not list it (an incremental pass lists only what the vendor reports changed); the next reconcile (${input.reconcileSchedule}) compares every record`,
      });
    }
  }
  if (blocks.missingSince) {
    out.push({ reason: "deletion-awaiting-confirmation", text: `missing from the reconcile at ${blocks.missingSince}; deleted only when the next reconcile misses it too (no single-record answer confirmed it)` });
  }
  if (blocks.heldSince) {
    out.push({
      reason: "deletion-held",
      text: `its deletion is held by the mass-deletion guard since ${blocks.heldSince} (max_delete_min / max_delete_ratio): check the source, then \`retrohook reset --source ${input.source} --resource ${input.resource} --accept-deletes\``,
    });
  }
  return out;
}

function explainEvent(input: ExplainEventInput, context: ExplainInput): ExplainedEvent {
  const envelope = input.envelope;
  const base = { id: input.id, attempts: input.attempts, pending: input.pending, deadLetters: input.deadLetters };
  if (!envelope) {
    return { ...base, type: null, detectedAt: null, pruned: true, why: "pruned: the event body is no longer kept", changes: [], notFired: [], routing: [] };
  }
  const name = envelope.type.slice(envelope.type.lastIndexOf(".") + 1);
  const current = envelope.data.object;
  const previousValues = envelope.data.previous;
  const previous = previousValues ? { ...current, ...previousValues } : undefined;
  const changes: FieldChange[] = previousValues
    ? Object.entries(previousValues).map(([field, before]) => ({ field, before, after: Object.hasOwn(current, field) ? current[field]! : null }))
    : [];
  const siblings = context.events.filter((other) => other.envelope?.detected_at === envelope.detected_at).map((other) => other.envelope!.type.slice(other.envelope!.type.lastIndexOf(".") + 1));
  const isChange = name === "created" || name === "updated";
  const notFired = isChange ? rulesNotFired(context.rules.transitions, siblings, name === "created" ? undefined : previous, current) : [];
  return {
    ...base,
    type: envelope.type,
    detectedAt: envelope.detected_at,
    pruned: false,
    why: mintedBecause(name, context, changes, previous, current),
    changes,
    notFired,
    routing: routing(input, envelope, context.targets),
  };
}

function mintedBecause(name: string, context: ExplainInput, changes: FieldChange[], previous: JsonObject | undefined, current: JsonObject): string {
  if (name === "created") return `created: not in state before this pass${context.rules.start !== "baseline" ? ` (start: ${context.rules.start} announces existing records)` : ""}`;
  if (name === "updated") return `updated: the fingerprint changed (${changes.map((c) => c.field).join(", ") || "nested values"})${context.rules.ignoreFields.length > 0 ? `; ignore_fields ${context.rules.ignoreFields.join(", ")} do not count` : ""}`;
  if (name === "deleted") return "deleted: missing from a complete listing and confirmed gone (a not-found answer, the vendor's audit log, or missing from two reconciles)";
  const rule = context.rules.transitions.find((transition) => transition.event === name);
  if (!rule) return `${name}: rule no longer in the config`;
  const fields = transitionFields(rule);
  const values = fields.map((field) => `${field}: ${show(previous ? getPath(previous, field) : undefined)} → ${show(getPath(current, field))}`).join(", ");
  return `${name}: rule "${name}" became true (${values})${previous ? "" : " on creation"}`;
}

function rulesNotFired(transitions: readonly Transition[], fired: string[], previous: JsonObject | undefined, current: JsonObject): ExplainedEvent["notFired"] {
  const out: ExplainedEvent["notFired"] = [];
  for (const transition of transitions) {
    if (fired.includes(transition.event)) continue;
    const verdict = transitionVerdict(transition, previous, current);
    const fields = transitionFields(transition).join(", ");
    if (verdict === "already-true") {
      out.push({ event: transition.event, verdict, text: `${transition.event} did not fire: it was already true before this change (${fields} = ${show(previous ? getPath(previous, transitionFields(transition)[0]!) : undefined)}); a rule fires when it becomes true` });
    } else if (verdict === "from-mismatch") {
      out.push({ event: transition.event, verdict, text: `${transition.event} did not fire: ${fields} did not come from the rule's \`from\` value` });
    }
  }
  return out;
}

function routing(input: ExplainEventInput, envelope: EventEnvelope, targets: ExplainTarget[]): RoutingVerdict[] {
  return targets.map((target) => {
    const attempts = input.attempts.filter((a) => a.target === target.name);
    if (attempts.some((a) => a.outcome === "filtered")) return { target: target.name, routed: false, why: "filtered by the target's filter" };
    const known = attempts.length > 0 || input.pending.some((p) => p.target === target.name) || input.deadLetters.some((d) => d.target === target.name);
    if (known) return { target: target.name, routed: true, why: "routed" };
    if (target.accepts(envelope.type, envelope.source)) return { target: target.name, routed: true, why: "routed (no attempt kept: the delivery log is bounded)" };
    const why =
      target.sources && !target.sources.includes(envelope.source)
        ? `not routed: the target's sources (${target.sources.join(", ") || "none"}) do not include ${envelope.source}`
        : `not routed: the target's events (${(target.events ?? []).join(", ") || "none"}) do not match ${envelope.type}`;
    return { target: target.name, routed: false, why };
  });
}

function show(value: JsonValue | undefined): string {
  return value === undefined ? "absent" : JSON.stringify(value);
}
