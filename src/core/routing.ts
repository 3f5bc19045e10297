import type { TargetConfig } from "../config/types.js";
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
