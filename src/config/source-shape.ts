/**
 * What every source and every resource has (name, schedule, reconcile, timezone, overlap, start,
 * budget, limits; ignore_fields, transitions, deletion guard), and the resource list of a preset.
 * A preset's config schema (sources/presets/<vendor>/config.ts) is these plus its own keys.
 */
import { z } from "zod";
import { didYouMean } from "../core/did-you-mean.js";
import type { CanonicalResource } from "../core/naming.js";
import { isTimeZone } from "./cron.js";
import { BYTE_SIZE_HINT, DURATION_HINT } from "./duration.js";
import { byteSize, cron, duration, httpUrl, NAME_PATTERN, nameString, resourceKeysAtSourceLevel, start, START_DESCRIPTION, strictObject, transition, uniqueNames } from "./fields.js";
import { PASS_BOUND_DEFAULTS } from "../core/pass-bounds.js";
import type { PresetResourceConfig } from "./types.js";

function passBound() {
  return z.number().int("must be a whole number").positive("must be 1 or more").optional();
}

export const resourceCommonShape = {
  type_prefix: z
    .string()
    .regex(NAME_PATTERN, { message: "may contain only letters, digits, _ and -" })
    .optional()
    .describe("Prefix of event types for this resource (`<type_prefix>.created`). Default: the singular of a canonical name (`cost_invoices` → `cost_invoice`), else the name."),
  ignore_fields: z
    .array(z.string().min(1, "must not be empty"))
    .default([])
    .describe("Top-level fields left out of the change fingerprint (e.g. `view_url` that changes on every read). Default none."),
  transitions: z.array(transition).default([]).describe("Custom events on field changes, in order: `{event, field, to}`, `{event, field, from, to}` or `{event, field, changed: true}`."),
  start: start().optional().describe(`${START_DESCRIPTION} Default: the source's \`start\`.`),
  max_delete_ratio: z
    .number()
    .min(0, "must be between 0 and 1")
    .max(1, "must be between 0 and 1")
    .default(0.2)
    .describe("Deletion guard: when more than `max_delete_min` records and more than this share of the resource would be deleted at once, nothing is deleted until `retrohook reset … --accept-deletes`. Default 0.2."),
  max_delete_min: z
    .number()
    .int("must be a whole number")
    .min(0, "must be 0 or more")
    .default(10)
    .describe("Deletion guard: the absolute count that must also be exceeded (see `max_delete_ratio`). Default 10."),
  max_pass_pages: passBound().describe(`Most pages (responses) one pass may read of this resource before it fails, keeping nothing it read (a vendor returning a \`next\` link forever). Default: ${PASS_BOUND_DEFAULTS.pages}.`),
  max_pass_records: passBound().describe(`Most records one pass may list of this resource before it fails, keeping nothing it read. Default: ${PASS_BOUND_DEFAULTS.records}.`),
};

export function sourceCommonShape(timezone: string) {
  return {
    name: nameString().describe("Unique source name (letters, digits, _ and -); the `source` of every event."),
    base_url: httpUrl().optional().describe("Origin (plus any install sub-path) of the API; the preset appends its API root. Replaces `domain` where there is one."),
    schedule: cron()
      .default("*/1 * * * *")
      .describe('Cron (5 fields, or 6 with seconds) of incremental passes. Quote it: `*` starts a YAML alias. Default "*/1 * * * *".'),
    reconcile: cron()
      .default("0 */6 * * *")
      .describe('Cron of complete scans (the only passes that detect deletions). Default "0 */6 * * *".'),
    timezone: z
      .string()
      .refine(isTimeZone, { message: "unknown time zone; use an IANA name like Europe/Warsaw or UTC" })
      .default(timezone)
      .describe(`IANA time zone for the schedule, budget periods and zone-less timestamps. Default "${timezone}".`),
    overlap: duration("5m").describe(`Time cursors are re-read from cursor − overlap; ${DURATION_HINT}. Default 5m.`),
    start: start().prefault("baseline").describe(`${START_DESCRIPTION} Default baseline.`),
    budget: strictObject({
      requests: z.number().int("must be a whole number").positive("must be 1 or more").describe("Requests allowed per period (every request counts, token requests included)."),
      per: z.enum(["hour", "day", "month"], { error: 'expected "hour", "day" or "month"' }).describe("Calendar period in the source's timezone."),
    })
      .optional()
      .describe("Request budget: ticks are skipped to stay within it, incremental passes before reconciles. Default: no budget."),
    max_response_bytes: byteSize("8MB").describe(`Largest accepted response body; ${BYTE_SIZE_HINT}. A page takes about 15 times its size in memory while it is read, so lower the page size (\`pagination.size\`) rather than raise this. Default 8MB.`),
    timeout: duration("30s").describe(`Per-request timeout; ${DURATION_HINT}. Default 30s.`),
    max_retry_after: duration("24h").describe(`Longest back-off a vendor's \`Retry-After\` (or "wait until") may impose on this source; a longer one is cut to this and logged; ${DURATION_HINT}. Default 24h.`),
    max_pass_pages: passBound().describe("Default `max_pass_pages` of this source's resources (see there)."),
    max_pass_records: passBound().describe("Default `max_pass_records` of this source's resources (see there)."),
    reprobe: duration("1h").describe(
      `How often a suspended source or resource, or a feed the key may not read, is tried again (one request); ${DURATION_HINT}. Default 1h.`,
    ),
  };
}

function presetResource<R extends readonly [CanonicalResource, ...CanonicalResource[]]>(preset: string, resources: R) {
  const supported: readonly string[] = resources;
  const hint = `supported by preset ${preset}: ${supported.join(", ")}`;
  const resourceName = z.enum(resources, {
    error: (issue) => {
      if (typeof issue.input !== "string") return `expected a resource name (${hint})`;
      const suggestion = didYouMean(issue.input, supported);
      return `resource "${issue.input}" is not supported by preset ${preset}${suggestion ? `; did you mean "${suggestion}"?` : ""} (supported: ${supported.join(", ")})`;
    },
  });
  const object = strictObject({
    name: resourceName.describe(`Canonical resource name; ${hint}.`),
    ...resourceCommonShape,
  });
  return z
    .union([resourceName, object], { error: `expected a resource name or { name: … } (${hint})` })
    .transform((value): PresetResourceConfig =>
      typeof value === "string"
        ? { name: value, ignore_fields: [], transitions: [], max_delete_ratio: 0.2, max_delete_min: 10 }
        : value,
    )
    .describe(`A resource name (${hint}) or an object with \`name\` and per-resource settings.`);
}

/** `resources:` of a preset: names (or `{name, …}`) among `resources`; default all of them. */
export function presetResources<R extends readonly [CanonicalResource, ...CanonicalResource[]]>(preset: string, resources: R) {
  return z
    .array(presetResource(preset, resources))
    .min(1, "list at least one resource, or leave out `resources` for all")
    .superRefine(uniqueNames("resource", "resources"))
    .prefault(() => [...resources])
    .describe(`Resources to poll; default all the preset supports: ${resources.join(", ")}.`);
}

/** Resource keys written at a preset source's level: a missing indent under `resources:`. */
export const PRESET_RESOURCE_KEYS = resourceKeysAtSourceLevel(["name", ...Object.keys(resourceCommonShape)]);
