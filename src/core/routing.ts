import type { TargetConfig } from "../config/types.js";
import { evaluateFilter, evaluateTransform, ExpressionRuntimeError, filterNow, GIVE_UP, transformNow } from "./expressions.js";
import type { EventEnvelope } from "./types.js";

/**
 * Which targets an event goes to; fixed when the event is written to the outbox.
 *
 * `events` patterns match the whole event `type`. `*` matches any run of characters, dots
 * included, so `*.paid` also matches a type whose prefix has dots and `*` matches everything;
 * every other character is literal and case matters. An absent `events` or `sources` list
 * means all; an empty list means none.
 */

export type RoutableTarget = Pick<TargetConfig, "name" | "events" | "sources">;

const compiled = new Map<string, RegExp>();

function patternRegExp(pattern: string): RegExp {
  let regexp = compiled.get(pattern);
  if (!regexp) {
    const body = pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    regexp = new RegExp(`^${body}$`, "s");
    compiled.set(pattern, regexp);
  }
  return regexp;
}

/** Whether an event type matches one `events` pattern. */
export function matchesEventPattern(pattern: string, type: string): boolean {
  return patternRegExp(pattern).test(type);
}

export function targetAccepts(target: RoutableTarget, envelope: Pick<EventEnvelope, "type" | "source">): boolean {
  if (target.sources && !target.sources.includes(envelope.source)) return false;
  if (target.events && !target.events.some((pattern) => matchesEventPattern(pattern, envelope.type))) return false;
  return true;
}

/** Names of the targets that receive this event, in config order. */
export function routeEvent(envelope: Pick<EventEnvelope, "type" | "source">, targets: readonly RoutableTarget[]): string[] {
  return targets.filter((target) => targetAccepts(target, envelope)).map((target) => target.name);
}

/** What routing decided for one target with a `filter` or `transform`. */
export type TargetVerdict = { outcome: "deliver"; body?: string } | { outcome: "filtered" } | { outcome: "failed"; step: "filter" | "transform"; reason: string };

/** An event's routing: the targets it goes to, and what their expressions decided. */
export interface Routing {
  /** Targets that get a delivery. */
  targets: string[];
  /**
   * Per target with a filter or transform that passed: the body its transform built, or ""
   * when it has no transform (the body is its format's). Fixed here, sent on every attempt and replay.
   */
  fixed: Record<string, string>;
  /** Targets whose filter said no: logged as `filtered`, no delivery. */
  filtered: string[];
  /** Targets whose filter or transform failed on this event: dead-lettered with the reason. */
  failed: Record<string, string>;
}

export type ExpressionTarget = RoutableTarget & Pick<TargetConfig, "filter" | "transform">;

export function hasExpressions(target: Pick<TargetConfig, "filter" | "transform">): boolean {
  return target.filter !== undefined || target.transform !== undefined;
}

/** `fakturownia/cost_invoices/123 (event evt_…)`: the record an expression failed on. */
function recordLabel(envelope: EventEnvelope): string {
  const kind = envelope.kind ? `${envelope.kind}:` : "";
  return `${envelope.source}/${envelope.resource ?? "-"}/${kind}${envelope.record_id ?? "-"} (event ${envelope.id})`;
}

type Expressions = Pick<TargetConfig, "filter" | "transform">;

function failedVerdict(target: Expressions, step: "filter" | "transform", envelope: EventEnvelope, error: unknown): TargetVerdict {
  const message = error instanceof ExpressionRuntimeError ? error.message : String((error as Error)?.message ?? error);
  return { outcome: "failed", step, reason: `${step} ${target[step]?.label ?? ""} failed on ${recordLabel(envelope)}: ${message}` };
}

/**
 * Runs a target's filter, then its transform, over the envelope. Never throws: a failure is a
 * verdict. Returns the verdict itself when both could be evaluated without waiting (the common
 * case), a promise otherwise.
 */
export function applyTargetExpressions(target: Expressions, envelope: EventEnvelope): TargetVerdict | Promise<TargetVerdict> {
  let passes: boolean | typeof GIVE_UP = true;
  if (target.filter) {
    try {
      passes = filterNow(target.filter.text, envelope, target.filter.limits);
    } catch (error) {
      return failedVerdict(target, "filter", envelope, error);
    }
    if (passes === GIVE_UP) return applyLater(target, envelope, true);
    if (!passes) return { outcome: "filtered" };
  }
  if (!target.transform) return { outcome: "deliver" };
  let body: string | typeof GIVE_UP;
  try {
    body = transformNow(target.transform.text, envelope, target.transform.limits);
  } catch (error) {
    return failedVerdict(target, "transform", envelope, error);
  }
  if (body === GIVE_UP) return applyLater(target, envelope, false);
  return { outcome: "deliver", body };
}

/** `applyTargetExpressions` with `jsonata` evaluating (from the filter, or from the transform when the filter passed). */
async function applyLater(target: Expressions, envelope: EventEnvelope, withFilter: boolean): Promise<TargetVerdict> {
  let step: "filter" | "transform" = "filter";
  try {
    if (withFilter && target.filter && !(await evaluateFilter(target.filter.text, envelope, target.filter.limits))) return { outcome: "filtered" };
    step = "transform";
    if (!target.transform) return { outcome: "deliver" };
    return { outcome: "deliver", body: await evaluateTransform(target.transform.text, envelope, target.transform.limits) };
  } catch (error) {
    return failedVerdict(target, step, envelope, error);
  }
}

function record(routing: Routing, name: string, verdict: TargetVerdict): void {
  if (verdict.outcome === "filtered") routing.filtered.push(name);
  else if (verdict.outcome === "failed") routing.failed[name] = verdict.reason;
  else {
    routing.targets.push(name);
    routing.fixed[name] = verdict.body ?? "";
  }
}

/**
 * Routes an event and runs the filter and transform of every target it goes to. Synchronous
 * when every expression could be evaluated without waiting; a promise otherwise.
 */
export function routeWithExpressions(envelope: EventEnvelope, targets: readonly ExpressionTarget[]): Routing | Promise<Routing> {
  const routing: Routing = { targets: [], fixed: {}, filtered: [], failed: {} };
  for (let index = 0; index < targets.length; index += 1) {
    const target = targets[index]!;
    if (!targetAccepts(target, envelope)) continue;
    if (!hasExpressions(target)) {
      routing.targets.push(target.name);
      continue;
    }
    const verdict = applyTargetExpressions(target, envelope);
    if (verdict instanceof Promise) return routeRest(routing, verdict, index, envelope, targets);
    record(routing, target.name, verdict);
  }
  return routing;
}

async function routeRest(routing: Routing, pending: Promise<TargetVerdict>, index: number, envelope: EventEnvelope, targets: readonly ExpressionTarget[]): Promise<Routing> {
  record(routing, targets[index]!.name, await pending);
  for (const target of targets.slice(index + 1)) {
    if (!targetAccepts(target, envelope)) continue;
    if (!hasExpressions(target)) routing.targets.push(target.name);
    else record(routing, target.name, await applyTargetExpressions(target, envelope));
  }
  return routing;
}
