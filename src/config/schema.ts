/**
 * The config schema: one zod schema per preset and one for `type: rest`, every object strict,
 * every field described (the descriptions are the user documentation: `retrohook schema`, the
 * README's config reference). The loader picks a source's schema by `preset` / `type` before
 * parsing, so users never see an unreadable union error.
 *
 * Secrets `K` may come from `K_file`: the loader reads the file into `K` before parsing, so the
 * schemas here see `K` only (`K_file` is declared for the JSON Schema and for unknown-key hints).
 */
import { didYouMean } from "../core/did-you-mean.js";
import { z } from "zod";
import { BUILT_IN_EVENTS, type CanonicalResource } from "../core/naming.js";
import { cronProblem, isTimeZone } from "./cron.js";
import { DEFAULT_TRANSPORT, TRANSPORT_TYPES, transportFields, transportOf, type TransportTarget } from "../transports/index.js";
import { httpUrlProblem } from "./url.js";
import { BYTE_SIZE_HINT, DURATION_HINT, DURATION_PATTERN, parseByteSize, parseDuration } from "./duration.js";
import type {
  CursorConfig,
  FacturaScriptsSourceConfig,
  FakturoidSourceConfig,
  FakturowniaSourceConfig,
  PaginationConfig,
  PresetName,
  PresetResourceConfig,
  RestResourceConfig,
  RestSourceConfig,
  ServerConfig,
  StartMode,
  TargetConfig,
  TargetFormat,
  TransitionRule,
  WfirmaSourceConfig,
} from "./types.js";

export const PRESETS = ["fakturownia", "facturascripts", "fakturoid", "wfirma"] as const satisfies readonly PresetName[];

/** Canonical resources each preset supports (DESIGN.md, "Presets"), in a stable order. */
export const PRESET_RESOURCES = {
  fakturownia: ["invoices", "cost_invoices", "warehouse_documents", "payments", "clients", "products"],
  facturascripts: ["invoices", "cost_invoices", "warehouse_documents", "payments", "clients", "products"],
  fakturoid: ["invoices", "cost_invoices", "clients", "products", "warehouse_documents"],
  wfirma: ["invoices", "cost_invoices", "warehouse_documents", "payments", "clients", "products"],
} as const satisfies Record<PresetName, readonly CanonicalResource[]>;

export type SourceKind = PresetName | "rest";

/** Keys `K` that may be given as `K_file`, per place in the config. */
export const FILE_KEYS = {
  fakturownia: ["api_token"],
  facturascripts: ["token"],
  fakturoid: ["client_id", "client_secret"],
  wfirma: ["access_key", "secret_key", "app_key", "oauth_token"],
  rest: [],
  target: ["secret", "api_token", "url"],
  tls: ["ca"],
  server: ["admin_token"],
  state: ["url"],
} as const satisfies Record<SourceKind | "target" | "tls" | "server" | "state", readonly string[]>;

export const DEFAULT_STATE_URL = "sqlite://./data/retrohook.sqlite";
export const DEFAULT_LISTEN = "127.0.0.1:8080";

// ---------------------------------------------------------------------------------------------
// Suggestions

export { didYouMean };

export function unknownKeyMessage(key: string, valid: readonly string[]): string {
  const suggestion = didYouMean(key, valid);
  if (suggestion) return `unknown key; did you mean "${suggestion}"?`;
  return `unknown key; valid keys here: ${valid.join(", ")}`;
}

/**
 * A strict object whose unknown-key issue carries one message per key (joined by newlines, in
 * the order of `issue.keys`); the loader splits them into one line per key.
 */
function strictObject<T extends z.core.$ZodLooseShape>(shape: T, expected?: string, misplaced?: Misplaced) {
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
interface Misplaced {
  keys: readonly string[];
  message: (key: string) => string;
}

/** A resource key at source level: the usual slip is a missing indent under `resources:`. */
function resourceKeysAtSourceLevel(keys: readonly string[]): Misplaced {
  return {
    keys,
    message: (key) => `"${key}" is a resource key, not a source key: indent it under resources[] (one item per resource, starting "- name: …")`,
  };
}

// ---------------------------------------------------------------------------------------------
// Field types

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
const nameString = () =>
  z.string().regex(NAME_PATTERN, { message: "may contain only letters, digits, _ and -" });

function checkHttpUrl(value: string, ctx: z.RefinementCtx): void {
  const problem = httpUrlProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}
const httpUrl = () => z.string().superRefine(checkHttpUrl);

const cron = () =>
  z.string().superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const duration = (fallback: string) =>
  z
    .union(
      [
        // The pattern is for editors; `parseDuration` checks and explains.
        z.string().meta({ pattern: DURATION_PATTERN }),
        z.number(),
      ],
      { error: `expected ${DURATION_HINT}` },
    )
    .transform((value, ctx) => {
      const parsed = parseDuration(value);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: "custom", message: parsed.problem });
      return z.NEVER;
    })
    .prefault(fallback);

const byteSize = (fallback: string) =>
  z
    .union([z.number(), z.string()], { error: `expected ${BYTE_SIZE_HINT}` })
    .transform((value, ctx) => {
      const parsed = parseByteSize(value);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: "custom", message: parsed.problem });
      return z.NEVER;
    })
    .prefault(fallback);

/** `query` and `headers`: scalars are written as text (YAML `per_page: 100` is fine). */
const stringMap = (kind: "header" | "query") =>
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

const secret = (description: string, key: string) =>
  z
    .string()
    .min(1, "must not be empty")
    .describe(`${description} Secret: never logged. Give it here (usually as \${VAR}) or as \`${key}_file\`, exactly one.`);

const secretFile = (key: string) =>
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
const start = () =>
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

const START_DESCRIPTION =
  "First run of a resource: `baseline` records the current state silently, `backfill` emits `created` for every existing record, `{since: DATE}` emits `created` for records created on or after DATE.";

// ---------------------------------------------------------------------------------------------
// Resources

const RESERVED_EVENTS: readonly string[] = BUILT_IN_EVENTS;

const transition = strictObject({
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

const resourceCommonShape = {
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
};

function presetResource(preset: PresetName) {
  const supported: readonly string[] = PRESET_RESOURCES[preset];
  const hint = `supported by preset ${preset}: ${supported.join(", ")}`;
  const resourceName = z.enum(PRESET_RESOURCES[preset], {
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

const cursor = strictObject({
  field: z.string().min(1, "must not be empty").describe("Dotted path of the record field that orders changes: an updated-at time, or a serial id with `type: id`."),
  param: z.string().min(1, "must not be empty").optional().describe("Query parameter that receives the cursor (time cursors: cursor − `overlap`; id cursors: the last id, strictly greater). Give `param` or `order`."),
  order: z
    .literal("desc", { error: 'the only order is "desc"' })
    .optional()
    .describe("`desc`: the list is sorted by `field` descending (set the sort in `query`); pages are read until records are older than cursor − overlap. Give `param` or `order`."),
  type: z.enum(["time", "id"]).default("time").describe("`time` (default): the field is a timestamp, re-read with `overlap`. `id`: serial ids, no overlap."),
  format: z
    .enum(["iso", "unix", "YYYY-MM-DD HH:mm:ss"])
    .default("iso")
    .describe('How a time cursor is written into `param`: `iso` (default), `unix` seconds, or "YYYY-MM-DD HH:mm:ss" in the source\'s timezone.'),
})
  .superRefine((value, ctx) => {
    if ((value.param === undefined) === (value.order === undefined)) {
      ctx.addIssue({ code: "custom", path: ["param"], message: "give exactly one of `param` (filter parameter) or `order: desc` (sorted list)" });
    }
  })
  .transform((value): CursorConfig => value)
  .describe("How changes are found. Omit for no cursor: every pass is a complete scan.");

const pagination = z
  .discriminatedUnion(
    "style",
    [
      strictObject({ style: z.literal("none").describe("One request returns all records.") }),
      strictObject({
        style: z.literal("page").describe("Numbered pages."),
        page_param: z.string().min(1).default("page").describe('Query parameter of the page number. Default "page".'),
        size_param: z.string().min(1).optional().describe("Query parameter of the page size (e.g. `per_page`); omit if the API has none."),
        size: z.number().int("must be a whole number").positive("must be 1 or more").default(100).describe("Records per page; a shorter page ends the list. Default 100."),
        first_page: z.number().int("must be a whole number").min(0, "must be 0 or more").default(1).describe("Number of the first page. Default 1."),
      }),
      strictObject({
        style: z.literal("offset").describe("Offset and limit."),
        offset_param: z.string().min(1).default("offset").describe('Query parameter of the offset. Default "offset".'),
        limit_param: z.string().min(1).default("limit").describe('Query parameter of the limit. Default "limit".'),
        size: z.number().int("must be a whole number").positive("must be 1 or more").default(100).describe("Records per request. Default 100."),
      }),
      strictObject({
        style: z.literal("next").describe("Each response names the next page."),
        next: z.string().min(1, "must not be empty").describe("Dotted path in the response body to the next page: a URL (same origin only) or a token."),
        token_param: z.string().min(1).optional().describe("When `next` is a token: the query parameter that carries it."),
      }),
    ],
    { error: (issue) => (issue.code === "invalid_union" ? 'expected style "none", "page", "offset" or "next"' : undefined) },
  )
  .transform((value): PaginationConfig => value)
  .default({ style: "none" })
  .describe("How to walk the list. Default `{style: none}`.");

const restResource = strictObject({
  name: nameString().describe("Resource name: a canonical one (invoices, cost_invoices, …) or your own. Unique within the source."),
  ...resourceCommonShape,
  path: z
    .string()
    .regex(/^\//, { message: 'must start with "/" (it is appended to the source base_url)' })
    .describe("List endpoint, appended to the source `base_url`, e.g. `/costs`."),
  query: stringMap("query").describe("Fixed query parameters of this resource (e.g. a sort or a filter), added to the source's `query`."),
  records: z.string().min(1, "must not be empty").optional().describe("Dotted path to the array of records in the body (e.g. `data`); omit when the body is the array."),
  id: z.string().min(1, "must not be empty").default("id").describe('Dotted path of the record id. Default "id".'),
  created_field: z.string().min(1, "must not be empty").optional().describe("Dotted path of the creation time, used by `start: {since}`."),
  cursor: cursor.optional(),
  pagination,
  get: z
    .string()
    .regex(/^\//, { message: 'must start with "/"' })
    .regex(/\{id\}/, { message: "must contain {id}" })
    .optional()
    .describe("Single-record URL template with `{id}` (e.g. `/costs/{id}`), to confirm deletions by a not-found answer."),
  paid: strictObject({
    field: z.string().min(1, "must not be empty").describe("Dotted path of the field that shows payment."),
    to: z.unknown().describe("`paid` fires when the field becomes this value."),
  })
    .superRefine((value, ctx) => {
      if (!Object.hasOwn(value, "to")) ctx.addIssue({ code: "custom", path: ["to"], message: "required" });
    })
    .transform((value) => ({ field: value.field, to: value.to }))
    .optional()
    .describe("Built-in `paid` event for this resource: fires when `field` becomes `to`."),
}, "a mapping with at least name and path (generic rest resources are described, not named)").describe("A resource of a generic REST source.");

// ---------------------------------------------------------------------------------------------
// Sources

function sourceCommonShape(timezone: string) {
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
    max_response_bytes: byteSize("50MB").describe(`Largest accepted response body; ${BYTE_SIZE_HINT}. Default 50MB.`),
    timeout: duration("30s").describe(`Per-request timeout; ${DURATION_HINT}. Default 30s.`),
    max_retry_after: duration("24h").describe(`Longest back-off a vendor's \`Retry-After\` (or "wait until") may impose on this source; a longer one is cut to this and logged; ${DURATION_HINT}. Default 24h.`),
    reprobe: duration("1h").describe(
      `How often a suspended source or resource, or a feed the key may not read, is tried again (one request); ${DURATION_HINT}. Default 1h.`,
    ),
  };
}

function presetResources(preset: PresetName) {
  return z
    .array(presetResource(preset))
    .min(1, "list at least one resource, or leave out `resources` for all")
    .superRefine(uniqueNames("resource", "resources"))
    .prefault(() => [...PRESET_RESOURCES[preset]])
    .describe(`Resources to poll; default all the preset supports: ${PRESET_RESOURCES[preset].join(", ")}.`);
}

function uniqueNames(what: string, list: string) {
  return (items: ReadonlyArray<{ name: string }>, ctx: z.RefinementCtx): void => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const first = seen.get(item.name);
      if (first === undefined) seen.set(item.name, index);
      else ctx.addIssue({ code: "custom", path: [index, "name"], message: `duplicate ${what} name "${item.name}" (also ${list}[${first}])` });
    });
  };
}

function withoutFileKeys<T extends object>(value: T): Omit<T, `${string}_file`> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.endsWith("_file"))) as Omit<T, `${string}_file`>;
}

/** Resources without their own `start` take the source's. */
function inheritStart<R extends { start?: StartMode }>(resources: R[], sourceStart: StartMode): R[] {
  return resources.map((resource) => ({ ...resource, start: resource.start ?? sourceStart }));
}

const PRESET_RESOURCE_KEYS = resourceKeysAtSourceLevel(["name", ...Object.keys(resourceCommonShape)]);

export const fakturowniaSource = strictObject({
  ...sourceCommonShape("UTC"),
  preset: z.literal("fakturownia").describe("Fakturownia (InvoiceOcean)."),
  domain: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, { message: "expected an account name (mycompany) or host (mycompany.fakturownia.pl), without https://; use base_url for a URL" })
    .optional()
    .describe("Account name (`mycompany`) or full host. Required unless `base_url` is given."),
  api_token: secret("Fakturownia API token.", "api_token"),
  api_token_file: secretFile("api_token"),
  resources: presetResources("fakturownia"),
}, undefined, PRESET_RESOURCE_KEYS)
  .superRefine((source, ctx) => {
    if (source.domain === undefined && source.base_url === undefined) {
      ctx.addIssue({ code: "custom", path: ["domain"], message: "required (or base_url)" });
    }
  })
  .transform((source): FakturowniaSourceConfig => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A Fakturownia account.");

export const facturascriptsSource = strictObject({
  ...sourceCommonShape("UTC"),
  preset: z.literal("facturascripts").describe("FacturaScripts."),
  base_url: httpUrl().describe("Where FacturaScripts is installed (origin plus sub-path); `/api/3` is appended."),
  token: secret("FacturaScripts API key (sent as X-Auth-Token).", "token"),
  token_file: secretFile("token"),
  resources: presetResources("facturascripts"),
}, undefined, PRESET_RESOURCE_KEYS)
  .transform((source): FacturaScriptsSourceConfig => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A FacturaScripts installation.");

export const fakturoidSource = strictObject({
  ...sourceCommonShape("UTC"),
  preset: z.literal("fakturoid").describe("Fakturoid (API v3)."),
  account: z
    .string()
    .regex(/^[a-z0-9_-]+$/, { message: "expected the account slug (lower case letters, digits, _ and -)" })
    .describe("Account slug, as in https://app.fakturoid.cz/<slug>."),
  client_id: secret("OAuth2 client id (client credentials flow).", "client_id"),
  client_id_file: secretFile("client_id"),
  client_secret: secret("OAuth2 client secret.", "client_secret"),
  client_secret_file: secretFile("client_secret"),
  user_agent: z
    .string()
    .regex(/^\S.*\s\([^\s()@]+@[^\s()@]+\.[^\s()@]+\)$/, { message: 'must look like "AppName (you@example.com)", as Fakturoid requires' })
    .describe('User-Agent Fakturoid requires: "AppName (contact@email)".'),
  resources: presetResources("fakturoid"),
}, undefined, PRESET_RESOURCE_KEYS)
  .transform((source): FakturoidSourceConfig => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A Fakturoid account; free plans allow ~1,500 requests a month: set a `budget`.");

const WFIRMA_KEYS = ["access_key", "secret_key", "app_key"] as const;

export const wfirmaSource = strictObject({
  ...sourceCommonShape("Europe/Warsaw"),
  preset: z.literal("wfirma").describe("wFirma."),
  access_key: secret("API access key (with secret_key and app_key; or use oauth_token).", "access_key").optional(),
  access_key_file: secretFile("access_key"),
  secret_key: secret("API secret key.", "secret_key").optional(),
  secret_key_file: secretFile("secret_key"),
  app_key: secret("Application key.", "app_key").optional(),
  app_key_file: secretFile("app_key"),
  oauth_token: secret("OAuth 2 bearer token, instead of the three keys.", "oauth_token").optional(),
  oauth_token_file: secretFile("oauth_token"),
  company_id: z
    .union([z.string().regex(/^\d+$/, { message: "expected the numeric company id" }), z.number().int().positive()], {
      error: "expected the numeric company id",
    })
    .transform(String)
    .optional()
    .describe("Company id, when the user has several companies."),
  resources: presetResources("wfirma"),
}, undefined, PRESET_RESOURCE_KEYS)
  .superRefine((source, ctx) => {
    const given = WFIRMA_KEYS.filter((key) => source[key] !== undefined);
    if (source.oauth_token !== undefined && given.length > 0) {
      ctx.addIssue({ code: "custom", path: ["oauth_token"], message: `give either oauth_token or ${WFIRMA_KEYS.join(" + ")}, not both` });
    } else if (source.oauth_token === undefined && given.length === 0) {
      ctx.addIssue({ code: "custom", path: [], message: `needs credentials: access_key, secret_key and app_key, or oauth_token` });
    } else if (source.oauth_token === undefined) {
      for (const key of WFIRMA_KEYS) {
        if (source[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: `required with ${given.join(", ")} (or ${key}_file)` });
      }
    }
  })
  .transform((source): WfirmaSourceConfig => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A wFirma company; auth by access_key + secret_key + app_key, or oauth_token.");

export const restSource = strictObject({
  ...sourceCommonShape("UTC"),
  type: z.literal("rest").describe("A generic REST API, described resource by resource."),
  base_url: httpUrl().describe("Base URL; each resource `path` is appended to it."),
  headers: stringMap("header").describe("Headers sent with every request (e.g. `Authorization: Bearer ${TOKEN}`); values are treated as secrets."),
  query: stringMap("query").describe("Query parameters added to every request of this source."),
  resources: z
    .array(restResource, { error: "expected a list of resources" })
    .min(1, "list at least one resource")
    .superRefine(uniqueNames("resource", "resources"))
    .describe("Resources of this API; each needs `name` and `path`."),
}, undefined, resourceKeysAtSourceLevel(Object.keys(restResource.shape)))
  .transform((source): RestSourceConfig => ({ ...source, resources: inheritStart<RestResourceConfig>(source.resources, source.start) }))
  .describe("A generic REST source (`type: rest`).");

export const SOURCE_SCHEMAS = {
  fakturownia: fakturowniaSource,
  facturascripts: facturascriptsSource,
  fakturoid: fakturoidSource,
  wfirma: wfirmaSource,
  rest: restSource,
} as const;

// ---------------------------------------------------------------------------------------------
// Targets, server, state

const FORMATS = ["standard", "cloudevents", "fakturownia", "facturascripts"] as const satisfies readonly TargetFormat[];
const WHSEC = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

const TRANSPORT_FIELDS = transportFields();

export const targetSchema = strictObject({
  name: nameString().describe("Unique target name (letters, digits, _ and -)."),
  type: z
    .enum(TRANSPORT_TYPES, { error: `expected one of ${TRANSPORT_TYPES.map((type) => `"${type}"`).join(", ")}` })
    .default(DEFAULT_TRANSPORT)
    .describe("Transport: `http` (default, a webhook receiver), `nats` (JetStream), `amqp` (RabbitMQ) or `redis-stream`."),
  url: z
    .string()
    .min(1, "must not be empty")
    .describe(
      "Where deliveries go: `https://…` for http (events are POSTed); `nats://host:4222`, `amqp://user:pass@host:5672/vhost`, `redis://host:6379/0` for brokers. Credentials in a broker URL are secrets; or give `url_file`.",
    ),
  url_file: secretFile("url"),
  ...Object.fromEntries(TRANSPORT_FIELDS.map((field) => [field.key, field.schema])),
  secret: secret(
    "Signing secret: `whsec_` + base64 (Standard Webhooks), or a plain string used as raw key bytes. Required for format facturascripts.",
    "secret",
  ).optional(),
  secret_file: secretFile("secret"),
  events: z
    .array(z.string().regex(/^\S+$/, { message: "must be a pattern without spaces, like cost_invoice.* or *.paid" }))
    .min(1, "list at least one pattern, or leave out `events` for all")
    .optional()
    .describe('Glob patterns on the event type, e.g. ["cost_invoice.*", "*.paid"]. Default: all events.'),
  sources: z.array(nameString()).min(1, "list at least one source, or leave out `sources` for all").optional().describe("Names of sources whose events this target gets. Default: all."),
  format: z
    .enum(FORMATS, { error: `expected one of ${FORMATS.map((format) => `"${format}"`).join(", ")}` })
    .default("standard")
    .describe("Body format: `standard` (default), `cloudevents`, `fakturownia` (the vendor's webhook shape) or `facturascripts`."),
  timeout: duration("10s").describe(`Per-attempt timeout; ${DURATION_HINT}. Default 10s.`),
  headers: stringMap("header").describe("Extra headers sent with every delivery."),
  retry: strictObject({
    max_age: duration("72h").describe("Give up (dead-letter) once an event is this old, counted from detection. Default 72h."),
    max_retry_after: duration("24h").describe(`Longest wait a receiver's \`Retry-After\` may impose before the next attempt; a longer one is cut to this and logged; ${DURATION_HINT}. Default 24h.`),
  })
    .prefault({})
    .describe("Retry policy: exponential backoff until `max_age`."),
  concurrency: z.number().int("must be a whole number").positive("must be 1 or more").default(4).describe("Deliveries in flight at once (order per record is kept). Default 4."),
  tls: strictObject({
    ca: z
      .string()
      .refine((pem) => pem.includes("-----BEGIN CERTIFICATE-----"), { message: "expected PEM text (-----BEGIN CERTIFICATE-----)" })
      .describe("PEM certificate(s) to trust for this target, or give `ca_file`."),
    ca_file: z.string().min(1, "must not be empty").optional().describe("Path of a PEM file (relative to the config file's folder), instead of `ca`."),
  })
    .transform((tls) => ({ ca: tls.ca }))
    .optional()
    .describe("TLS settings, e.g. a private CA."),
  api_token: secret("Only for format fakturownia: the token echoed in the body, as Fakturownia's own webhooks do. Never the source's token.", "api_token").optional(),
  api_token_file: secretFile("api_token"),
  locale: z.string().min(1, "must not be empty").optional().describe('Only for format fakturownia: `locale` in the body. Default "pl".'),
})
  .superRefine((target, ctx) => {
    for (const field of TRANSPORT_FIELDS) {
      if (field.type !== target.type && (target as Record<string, unknown>)[field.key] !== undefined) {
        ctx.addIssue({ code: "custom", path: [field.key], message: `only used with type: ${field.type}` });
      }
    }
    for (const problem of transportOf(target).check({ ...target, headers: target.headers } as TransportTarget)) {
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
    }
    if (target.format !== "fakturownia") {
      for (const key of ["api_token", "locale"] as const) {
        if (target[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: "only used with format: fakturownia" });
      }
    }
    if (target.format === "facturascripts" && target.secret === undefined) {
      ctx.addIssue({ code: "custom", path: ["secret"], message: "required for format facturascripts (it signs X-Webhook-Signature)" });
    }
    if (target.secret?.startsWith("whsec_") && !WHSEC.test(target.secret)) {
      ctx.addIssue({ code: "custom", path: ["secret"], message: "starts with whsec_ but the rest is not base64" });
    }
  })
  .transform(
    ({ type, ...target }): TargetConfig => ({
      // `http` is the default: an HTTP target's loaded config has no `type`, as before there were others.
      ...(type !== DEFAULT_TRANSPORT ? { type } : {}),
      ...withoutFileKeys(target),
      ...(target.format === "fakturownia" ? { locale: target.locale ?? "pl" } : {}),
    }),
  )
  .describe("Where events are delivered: a webhook receiver or a message broker.");

const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export const serverSchema = strictObject({
  listen: z
    .string()
    .refine((value) => {
      const match = LISTEN.exec(value);
      return match !== null && Number(match[2]) <= 65535;
    }, { message: 'expected host:port, e.g. "127.0.0.1:8080", "0.0.0.0:8080" or "[::1]:8080" (port 0 picks a free port)' })
    .default(DEFAULT_LISTEN)
    .describe(`Address of the health, metrics and admin server (host:port; port 0 picks a free one). Default "${DEFAULT_LISTEN}".`),
  admin_token: z
    .string()
    .optional()
    .describe("Bearer token for the admin API and UI; required when `listen` is not loopback, and then with at least 32 bytes of entropy (`openssl rand -base64 32`). Empty means unset. Secret; or give `admin_token_file`."),
  admin_token_file: secretFile("admin_token"),
})
  .transform((server): ServerConfig => ({
    listen: server.listen,
    ...(server.admin_token ? { admin_token: server.admin_token } : {}),
  }))
  .prefault({})
  .describe("The HTTP server: /healthz, /metrics, admin API and UI.");

export const stateSchema = strictObject({
  url: z
    .string()
    .refine((url) => url === "sqlite::memory:" || /^sqlite:\/\/.+/.test(url) || /^postgres(ql)?:\/\/.+/.test(url), {
      message: 'expected "sqlite://path/to/file.sqlite" (relative to the config file), "sqlite:///absolute/path.sqlite" or "postgres://user:password@host:5432/database?schema=retrohook"',
    })
    .default(DEFAULT_STATE_URL)
    .describe(
      `Where state lives: "sqlite://<path>" (a relative path is relative to the config file's folder), "postgres://user:password@host:5432/database?schema=retrohook" (PostgreSQL; \`schema\` defaults to retrohook; \`sslmode\`, \`sslrootcert\`, \`sslcert\`, \`sslkey\` as for psql) or "sqlite::memory:" (tests). Default "${DEFAULT_STATE_URL}". The password is a secret: never shown; or give \`url_file\`.`,
    ),
  url_file: secretFile("url"),
})
  .transform(({ url }) => ({ url }))
  .prefault({})
  .describe("The state store: cursors, snapshots, outbox, delivery log.");

const targetsSchema = z
  .array(targetSchema)
  .nullable()
  .optional()
  .transform((targets) => targets ?? [])
  .describe("Webhook receivers. May be empty: detection only.");

/** The top level as parsed: sources are parsed one by one with the schema their kind picks. */
export const configShellSchema = strictObject({
  state: stateSchema,
  server: serverSchema,
  sources: z
    .array(z.unknown(), { error: (issue) => (issue.input === undefined ? "required: list at least one source" : "expected a list of sources") })
    .min(1, "list at least one source"),
  targets: targetsSchema,
});

/** The whole input document, for the JSON Schema export. */
export const configInputSchema = strictObject({
  state: stateSchema,
  server: serverSchema,
  sources: z
    .array(z.union([fakturowniaSource, facturascriptsSource, fakturoidSource, wfirmaSource, restSource]))
    .min(1)
    .describe("What to poll: preset sources (`preset: fakturownia|facturascripts|fakturoid|wfirma`) or generic ones (`type: rest`)."),
  targets: targetsSchema,
}).describe("retrohook configuration: sources to poll, targets to deliver webhooks to.");
