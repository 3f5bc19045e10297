import type { TransitionRule } from "../config/types.js";
import type { Transition } from "../core/transitions.js";

/** Built-in transitions (a preset's `paid`…) first, then the user's rules in config order. */
export function naturalTransitions(builtIn: Transition[], user: readonly TransitionRule[]): Transition[] {
  return [...builtIn, ...user.map((rule): Transition => ("changed" in rule ? { event: rule.event, field: rule.field, changed: true } : { event: rule.event, field: rule.field, to: rule.to, ...(rule.from !== undefined ? { from: rule.from } : {}) }))];
}
