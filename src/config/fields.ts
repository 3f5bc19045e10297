/**
 * The building blocks of the config schema: strict objects whose unknown-key errors suggest the
 * key meant, and the field types every part of the config shares (names, URLs, cron, durations,
 * byte sizes, header and query maps, secrets with their `K_file` twin, `start`, transitions).
 * Every field carries its `.describe()` text: the descriptions are the user documentation
 * (`retrohook schema`, docs/config-reference.md).
 */
import { z } from "zod";
import { didYouMean } from "../core/did-you-mean.js";
import { BUILT_IN_EVENTS } from "../core/naming.js";
import { cronProblem } from "./cron.js";
import { BYTE_SIZE_HINT, DURATION_HINT, DURATION_PATTERN, parseByteSize, parseDuration, type Parsed } from "./duration.js";
import type { StartMode, TransitionRule } from "./types.js";
import { httpUrlProblem } from "./url.js";

export function unknownKeyMessage(key: string, valid: readonly string[]): string {
  const suggestion = didYouMean(key, valid);
  if (suggestion) return `unknown key; did you mean "${suggestion}"?`;
  return `unknown key; valid keys here: ${valid.join(", ")}`;
}

/**
 * A strict object whose unknown-key issue carries one message per key (joined by newlines, in
 * the order of `issue.keys`); the loader splits them into one line per key.
 */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T, expected?: string, misplaced?: Misplaced) {
  const valid = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => (misplaced?.keys.includes(key) ? misplaced.message(key) : unknownKeyMessage(key, valid))).join("\n");
      }
      if (issue.code === "invalid_type" && expected !== undefined && issue.input !== undefined) return `expected ${expected}`;
      return undefined;
    },
  });
}

/** Keys that belong one level down (a resource key written at source level) and what to say instead. */
export interface Misplaced {
  keys: readonly string[];
  message: (key: string) => string;
}

/** A resource key at source level: the usual slip is a missing indent under `resources:`. */
export function resourceKeysAtSourceLevel(keys: readonly string[]): Misplaced {
  return {
    keys,
    message: (key) => `"${key}" is a resource key, not a source key: indent it under resources[] (one item per resource, starting "- name: …")`,
  };
}

// ---------------------------------------------------------------------------------------------
// Field types

export const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
export const nameString = () =>
  z.string().regex(NAME_PATTERN, { message: "may contain only letters, digits, _ and -" });

function checkHttpUrl(value: string, ctx: z.RefinementCtx): void {
  const problem = httpUrlProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}
export const httpUrl = () => z.string().superRefine(checkHttpUrl);

export const cron = () =>
  z.string().superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** A zod transform from a `parse…` function of duration.ts: its value, or its explanation as the issue. */
function parsedOrIssue(parse: (input: string | number) => Parsed<number>) {
  return (value: string | number, ctx: z.RefinementCtx): number => {
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: parsed.problem });
    return z.NEVER;
  };
}

export const duration = (fallback: string) =>
  z
    .union(
      [
        // The pattern is for editors; `parseDuration` checks and explains.
        z.string().meta({ pattern: DURATION_PATTERN }),
        z.number(),
      ],
      { error: `expected ${DURATION_HINT}` },
    )
    .transform(parsedOrIssue(parseDuration))
    .prefault(fallback);

export const byteSize = (fallback: string) =>
  z
    .union([z.number(), z.string()], { error: `expected ${BYTE_SIZE_HINT}` })
    .transform(parsedOrIssue(parseByteSize))
    .prefault(fallback);

/** `query` and `headers`: scalars are written as text (YAML `per_page: 100` is fine). */
export const stringMap = (kind: "header" | "query") =>
  z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: "expected text, a number or true/false" }))
    .superRefine((map, ctx) => {
      for (const [key, value] of Object.entries(map)) {
        if (kind === "header" && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) {
          ctx.addIssue({ code: "custom", path: [key], message: "not a valid HTTP header name" });
        }
        if (typeof value === "string" && /[\r\n]/.test(value)) {
          ctx.addIssue({ code: "custom", path: [key], message: "must not contain line breaks" });
        }
      }
    })
    .transform((map) => Object.fromEntries(Object.entries(map).map(([key, value]) => [key, String(value)])))
    .default({});

export const secret = (description: string, key: string) =>
  z
    .string()
    .min(1, "must not be empty")
    .describe(`${description} Secret: never logged. Give it here (usually as \${VAR}) or as \`${key}_file\`, exactly one.`);

export const secretFile = (key: string) =>
  z
    .string()
    .min(1, "must not be empty")
    .optional()
    .describe(
      `Path of a file holding \`${key}\` (relative to the config file's folder; a trailing newline is ignored). Instead of \`${key}\`.`,
    );

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
function isSince(value: string): boolean {
  const date = DATE_ONLY.exec(value);
  if (date) {
    const [, y, m, d] = date.map(Number) as [number, number, number, number];
    const probe = new Date(Date.UTC(y, m - 1, d));
    return probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d;
  }
  return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value.replace(" ", "T")));
}

const START_HINT = 'expected "baseline", "backfill" or { since: "YYYY-MM-DD" }';
export const start = () =>
  z
    .union(
      [
        z.enum(["baseline", "backfill"], { error: START_HINT }),
        strictObject({
          since: z
            .string()
            .refine(isSince, { message: 'expected a date "YYYY-MM-DD" or an ISO 8601 date-time like "2026-01-31T08:00:00Z"' })
            .describe(
              "Emit `created` for existing records whose `created_field` is on or after this date (YYYY-MM-DD) or ISO 8601 instant; a value without offset is in the source's `timezone`.",
            ),
        }),
      ],
      { error: START_HINT },
    )
    .transform((value): StartMode => (typeof value === "string" ? { mode: value } : { mode: "since", since: value.since }));

export const START_DESCRIPTION =
  "First run of a resource: `baseline` records the current state silently, `backfill` emits `created` for every existing record, `{since: DATE}` emits `created` for records created on or after DATE.";

// ---------------------------------------------------------------------------------------------
// Transitions and lists

const RESERVED_EVENTS: readonly string[] = BUILT_IN_EVENTS;

export const transition = strictObject({
  event: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, { message: "must be lower case letters, digits and _, starting with a letter" })
    .refine((event) => !RESERVED_EVENTS.includes(event), {
      message: `is a built-in event name (${BUILT_IN_EVENTS.join(", ")} are reserved); choose another`,
    })
    .describe("Name of the event; the webhook `type` becomes `<singular>.<event>`. `created`, `updated`, `deleted`, `paid` are reserved."),
  field: z.string().min(1, "must not be empty").describe("Dotted path of the field to watch, e.g. `status` or `payment.state`."),
  to: z
    .unknown()
    .optional()
    .describe("Fire when the field becomes this value (numeric strings compare as numbers). Use `to` or `changed: true`."),
  from: z.unknown().optional().describe("Only with `to`: fire only when the previous value was this."),
  changed: z
    .literal(true, { error: "must be true (or leave it out)" })
    .optional()
    .describe("`true`: fire whenever the field's value changes. Instead of `to`/`from`."),
})
  .superRefine((rule, ctx) => {
    const hasTo = Object.hasOwn(rule, "to");
    const hasFrom = Object.hasOwn(rule, "from");
    if (rule.changed && (hasTo || hasFrom)) {
      ctx.addIssue({ code: "custom", path: ["changed"], message: "use either `changed: true` or `to` (with optional `from`), not both" });
    } else if (!rule.changed && !hasTo) {
      ctx.addIssue({ code: "custom", path: ["to"], message: "required (or `changed: true`)" });
    }
  })
  .transform((rule): TransitionRule => {
    if (rule.changed) return { event: rule.event, field: rule.field, changed: true };
    return Object.hasOwn(rule, "from")
      ? { event: rule.event, field: rule.field, to: rule.to, from: rule.from }
      : { event: rule.event, field: rule.field, to: rule.to };
  })
  .describe("A custom event fired when a predicate on the record goes from false to true (and on `created`, except during a baseline).");

export function uniqueNames(what: string, list: string) {
  return (items: ReadonlyArray<{ name: string }>, ctx: z.RefinementCtx): void => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const first = seen.get(item.name);
      if (first === undefined) seen.set(item.name, index);
      else ctx.addIssue({ code: "custom", path: [index, "name"], message: `duplicate ${what} name "${item.name}" (also ${list}[${first}])` });
    });
  };
}

export function withoutFileKeys<T extends object>(value: T): Omit<T, `${string}_file`> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.endsWith("_file"))) as Omit<T, `${string}_file`>;
}

/** Resources without their own `start` take the source's. */
export function inheritStart<R extends { start?: StartMode }>(resources: R[], sourceStart: StartMode): R[] {
  return resources.map((resource) => ({ ...resource, start: resource.start ?? sourceStart }));
}
