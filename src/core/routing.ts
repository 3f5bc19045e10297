import type { TargetConfig, TargetExpression } from "../config/types.js";
import { evaluateFilter, evaluateTransform, ExpressionRuntimeError } from "./expressions.js";
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

/** Runs a target's filter, then its transform, over the envelope. Never throws: a failure is a verdict. */
export async function applyTargetExpressions(target: Pick<TargetConfig, "filter" | "transform">, envelope: EventEnvelope): Promise<TargetVerdict> {
  let step: TargetExpression | undefined = target.filter;
  try {
    if (target.filter && !(await evaluateFilter(target.filter.text, envelope, target.filter.limits))) return { outcome: "filtered" };
    step = target.transform;
    if (!target.transform) return { outcome: "deliver" };
    return { outcome: "deliver", body: await evaluateTransform(target.transform.text, envelope, target.transform.limits) };
  } catch (error) {
    const which = step === target.filter ? "filter" : "transform";
    const message = error instanceof ExpressionRuntimeError ? error.message : String((error as Error)?.message ?? error);
    return { outcome: "failed", step: which, reason: `${which} ${step?.label ?? ""} failed on ${recordLabel(envelope)}: ${message}` };
  }
}

/** Routes an event and runs the filter and transform of every target it goes to. */
export async function routeWithExpressions(envelope: EventEnvelope, targets: readonly ExpressionTarget[]): Promise<Routing> {
  const routing: Routing = { targets: [], fixed: {}, filtered: [], failed: {} };
  for (const target of targets) {
    if (!targetAccepts(target, envelope)) continue;
    if (!hasExpressions(target)) {
      routing.targets.push(target.name);
      continue;
    }
    const verdict = await applyTargetExpressions(target, envelope);
    if (verdict.outcome === "filtered") routing.filtered.push(target.name);
    else if (verdict.outcome === "failed") routing.failed[target.name] = verdict.reason;
    else {
      routing.targets.push(target.name);
      routing.fixed[target.name] = verdict.body ?? "";
    }
  }
  return routing;
}
