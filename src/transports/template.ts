import type { EventEnvelope } from "../core/types.js";
import type { TargetProblem } from "./types.js";

/**
 * Destination templates of broker targets (`subject`, `routing_key`, `stream`…):
 * `{source}`, `{resource}`, `{type}` (`cost_invoice.paid`), `{event}` (`paid`) and `{kind}`;
 * an absent value (`resource` of a test event, `kind` of most vendors) is empty.
 */

export const PLACEHOLDERS = ["source", "resource", "type", "event", "kind"] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

const PART = /\{([^{}]*)\}/g;

/** Values a template is checked with at load time: each a plausible non-empty name. */
const SAMPLE: Record<Placeholder, string> = { source: "source", resource: "invoices", type: "invoice.created", event: "created", kind: "kind" };

function valuesOf(envelope: Pick<EventEnvelope, "source" | "resource" | "type" | "kind">): Record<Placeholder, string> {
  const dot = envelope.type.lastIndexOf(".");
  return {
    source: envelope.source,
    resource: envelope.resource ?? "",
    type: envelope.type,
    event: dot >= 0 ? envelope.type.slice(dot + 1) : envelope.type,
    kind: envelope.kind ?? "",
  };
}

function fill(template: string, values: Record<Placeholder, string>): string {
  return template.replace(PART, (_, name: string) => values[name as Placeholder] ?? "");
}

/**
 * Problems of a template knowable at load time: unknown placeholders, stray braces, and a name
 * that is invalid whatever the event (`invalid` says why a rendered name is not allowed).
 */
export function templateProblems(key: string, template: string, invalid: (name: string) => string | undefined): TargetProblem[] {
  const problems: TargetProblem[] = [];
  const unknown = [...template.matchAll(PART)].map((match) => match[1]!).filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    problems.push({ path: [key], message: `unknown placeholder ${unknown.map((name) => `{${name}}`).join(", ")}; use ${PLACEHOLDERS.map((name) => `{${name}}`).join(", ")}` });
    return problems;
  }
  if (/[{}]/.test(template.replace(PART, ""))) {
    problems.push({ path: [key], message: "has an unmatched { or }" });
    return problems;
  }
  const why = invalid(fill(template, SAMPLE));
  if (why) problems.push({ path: [key], message: why });
  return problems;
}

/** The name for one event, or why it is not a valid name (then the delivery is a dead letter). */
export function renderTemplate(
  key: string,
  template: string,
  envelope: Pick<EventEnvelope, "source" | "resource" | "type" | "kind">,
  invalid: (name: string) => string | undefined,
): { name: string } | { problem: string } {
  const name = fill(template, valuesOf(envelope));
  const why = invalid(name);
  return why ? { problem: `${key} "${template}" gives "${name}" for this event: ${why}` } : { name };
}
