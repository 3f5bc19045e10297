import { deepEqual, getPath } from "./fingerprint.js";
import type { JsonObject, JsonValue } from "./types.js";

/**
 * Transitions: an event fires when its predicate goes from false (previous snapshot) to true
 * (current record), and on `created` when it holds (never during a baseline).
 * - `{field, to}`: the value at the dotted path equals `to`.
 * - `{field, from, to}`: additionally the previous value equalled `from` (never on created).
 * - `{field, changed: true}`: the value differs from the previous one (never on created).
 * - a built-in rule may list several `{field, to}` alternatives (any of them holds).
 * Numeric strings compare as numbers (`"0.00"` equals `0`).
 */
export type Transition =
  | { event: string; anyOf: Array<{ field: string; to: unknown }> }
  | { event: string; field: string; to: unknown; from?: unknown }
  | { event: string; field: string; changed: true };

export function valueMatches(value: JsonValue | undefined, expected: unknown): boolean {
  if (value === undefined) return false;
  const a = asNumber(value);
  const b = asNumber(expected);
  if (a !== undefined && b !== undefined) return a === b;
  return deepEqual(value, expected as JsonValue);
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

function holds(transition: Transition, record: JsonObject): boolean {
  if ("anyOf" in transition) return transition.anyOf.some((rule) => valueMatches(getPath(record, rule.field), rule.to));
  if ("changed" in transition) return false;
  return valueMatches(getPath(record, transition.field), transition.to);
}

/** The events that fire for one observed change, in rule order. `previous` undefined = created. */
export function firedTransitions(transitions: readonly Transition[], previous: JsonObject | undefined, current: JsonObject): string[] {
  const fired: string[] = [];
  for (const transition of transitions) {
    if ("changed" in transition) {
      if (previous && !deepEqual(getPath(previous, transition.field), getPath(current, transition.field))) fired.push(transition.event);
      continue;
    }
    if (!holds(transition, current)) continue;
    if (!previous) {
      if (!("from" in transition && transition.from !== undefined)) fired.push(transition.event);
      continue;
    }
    if (holds(transition, previous)) continue;
    if ("from" in transition && transition.from !== undefined && !valueMatches(getPath(previous, transition.field), transition.from)) continue;
    fired.push(transition.event);
  }
  return fired;
}

export type TransitionVerdict = "fired" | "already-true" | "not-true" | "from-mismatch" | "unchanged";

/** Why a rule did or did not fire for one change (`explain`); agrees with `firedTransitions`. */
export function transitionVerdict(transition: Transition, previous: JsonObject | undefined, current: JsonObject): TransitionVerdict {
  if ("changed" in transition) {
    return previous && !deepEqual(getPath(previous, transition.field), getPath(current, transition.field)) ? "fired" : "unchanged";
  }
  if (!holds(transition, current)) return "not-true";
  if (!previous) return "from" in transition && transition.from !== undefined ? "from-mismatch" : "fired";
  if (holds(transition, previous)) return "already-true";
  if ("from" in transition && transition.from !== undefined && !valueMatches(getPath(previous, transition.field), transition.from)) return "from-mismatch";
  return "fired";
}

/** The field(s) a rule reads, for messages. */
export function transitionFields(transition: Transition): string[] {
  return "anyOf" in transition ? [...new Set(transition.anyOf.map((rule) => rule.field))] : [transition.field];
}
