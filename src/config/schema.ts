/**
 * The config document's schema: `state`, `server`, `targets`, and `sources` composed from the
 * preset specs (sources/presets/index.ts) and the `type: rest` schema (sources/rest/config.ts).
 * Every object is strict and every field described (the descriptions are the user
 * documentation: `retrohook schema`, docs/config-reference.md). The loader picks a source's
 * schema by `preset` / `type` before parsing, so users never see an unreadable union error.
 * The field types and the parts every source shares: fields.ts and source-shape.ts.
 *
 * Secrets `K` may come from `K_file`: the loader reads the file into `K` before parsing, so the
 * schemas see `K` only (`K_file` is declared for the JSON Schema and for unknown-key hints).
 */
import { z } from "zod";
import { PRESET_NAMES, PRESETS, type PresetName } from "../sources/presets/index.js";
import { restSource } from "../sources/rest/config.js";
import { DEFAULT_TRANSPORT, TRANSPORT_TYPES, transportFields, transportOf, type TransportTarget } from "../transports/index.js";
import { BYTE_SIZE_HINT, DURATION_HINT } from "./duration.js";
import { byteSize, duration, nameString, secret, secretFile, stringMap, strictObject, withoutFileKeys } from "./fields.js";
import type { ServerConfig, SourceConfig, TargetConfig, TargetFormat } from "./types.js";

export { PRESET_NAMES };

export type SourceKind = PresetName | "rest";

/** Keys `K` that may be given as `K_file`, per place in the config. */
export const FILE_KEYS: Readonly<Record<SourceKind | "target" | "tls" | "server" | "state", readonly string[]>> = {
  ...(Object.fromEntries(PRESETS.map((preset) => [preset.name, preset.secretKeys])) as Record<PresetName, readonly string[]>),
  rest: [],
  target: ["secret", "api_token", "url"],
  tls: ["ca"],
  server: ["admin_token"],
  state: ["url"],
};

/** The schema of each kind of source, by `preset` name or `rest`. */
export const SOURCE_SCHEMAS: Readonly<Record<SourceKind, z.ZodType<SourceConfig>>> = {
  ...(Object.fromEntries(PRESETS.map((preset) => [preset.name, preset.schema])) as unknown as Record<PresetName, z.ZodType<SourceConfig>>),
  rest: restSource,
};

export const DEFAULT_STATE_URL = "sqlite://./data/retrohook.sqlite";
export const DEFAULT_LISTEN = "127.0.0.1:8080";

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
  filter: expressionField(
    'JSONata over the event envelope, run when an event is routed to this target: `true` sends it, `false` (or no match) records it as `filtered`. E.g. `data.object.currency = "PLN"`. Default: no filter.',
  ),
  transform: expressionField(
    "JSONata over the event envelope whose result (any JSON value) is the body sent, built when the event is routed and kept for every retry and replay. Only with format standard. Default: the format's body.",
  ),
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
    if (target.transform !== undefined && target.format !== "standard") {
      ctx.addIssue({ code: "custom", path: ["transform"], message: `a transform builds the body itself; it cannot be combined with format ${target.format} (leave format out)` });
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
    // `filter` and `transform` are resolved and compiled by the loader (named expressions, limits).
    ({ type, filter: _filter, transform: _transform, ...target }): TargetConfig => ({
      // `http` is the default: an HTTP target's loaded config has no `type`, as before there were others.
      ...(type !== DEFAULT_TRANSPORT ? { type } : {}),
      ...withoutFileKeys(target),
      ...(target.format === "fakturownia" ? { locale: target.locale ?? "pl" } : {}),
    }),
  )
  .describe("Where events are delivered: a webhook receiver or a message broker.");

/** A target's `filter` / `transform`: inline JSONata, or `{use: NAME}` of a top-level expression. */
function expressionField(description: string) {
  return z
    .union(
      [
        z.string().trim().min(1, "must not be empty"),
        strictObject({ use: nameString().describe("Name of an expression under the top-level `expressions`.") }),
      ],
      { error: "expected a JSONata expression (text), or {use: NAME} naming one under `expressions`" },
    )
    .optional()
    .describe(description);
}

export const expressionsSchema = z
  .record(nameString(), z.string().trim().min(1, "must not be empty"), { error: "expected a mapping of names to JSONata expressions" })
  .optional()
  .describe("Named JSONata expressions, reusable by several targets as `filter: {use: NAME}` or `transform: {use: NAME}`.");

export const expressionLimitsSchema = strictObject({
  timeout: duration("250ms").describe(`Longest one evaluation may run before it is stopped and its delivery dead-lettered; ${DURATION_HINT}. Default 250ms.`),
  max_bytes: byteSize("1MB").describe(`Largest transform result (as JSON); ${BYTE_SIZE_HINT}. Larger results dead-letter their delivery. Default 1MB.`),
})
  .prefault({})
  .describe("Limits of every filter and transform evaluation.");

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
  metrics_public: z
    .boolean()
    .default(false)
    .describe("Serve /metrics without the admin token when `listen` is not loopback (on loopback it never needs one). Default false: off loopback a scraper sends `Authorization: Bearer <admin_token>`."),
})
  .transform((server): ServerConfig => ({
    listen: server.listen,
    ...(server.admin_token ? { admin_token: server.admin_token } : {}),
    ...(server.metrics_public ? { metrics_public: true } : {}),
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
  retention: strictObject({
    events: duration("30d").describe(`How long delivered events are kept (their bodies, the bodies targets' transforms fixed, the record index) and the pass journal \`explain\` reads; an event with a pending delivery or a dead letter stays while they do; ${DURATION_HINT}. Default 30d.`),
    delivery_log: duration("7d").describe(`How long delivery log entries are kept (besides the last 1,000 per target); ${DURATION_HINT}. Default 7d.`),
    dead_letters: duration("90d").describe(`How long dead letters are kept (\`replay --dead-letters\` can send them until then); ${DURATION_HINT}. Default 90d.`),
  })
    .prefault({})
    .describe("What is pruned, and when: older entries are removed in the background in small steps, and the space given back (SQLite: incremental vacuum; PostgreSQL: VACUUM)."),
})
  .transform(({ url, retention }) => ({ url, retention: { events: retention.events, delivery_log: retention.delivery_log, dead_letters: retention.dead_letters } }))
  .prefault({})
  .describe("The state store: cursors, snapshots, outbox, delivery log.");

/** Letters, digits, `.`, `_`, `-`: a replica id shows in logs, metrics and the admin API as is. */
export const REPLICA_ID = /^[A-Za-z0-9._-]{1,100}$/;

export const clusterSchema = strictObject({
  lease: duration("30s")
    .refine((ms) => ms >= 1000, { message: "must be at least 1s" })
    .describe(`How long a replica's hold on a source lasts without renewal (renewed every third of it); a dead replica's sources are taken over after at most this; ${DURATION_HINT}. Default 30s.`),
  replica_id: z
    .string()
    .regex(REPLICA_ID, "expected letters, digits, `.`, `_` and `-` (at most 100)")
    .optional()
    .describe("This replica's id (shown in status, the admin API and metrics). The environment variable RETROHOOK_REPLICA_ID overrides it; default `<host name>-<pid>`."),
})
  .optional()
  .describe("Replicas: several `retrohook run` on one PostgreSQL state, each source polled by one of them at a time (leases with fencing). PostgreSQL state only.");

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
  expressions: expressionsSchema,
  expression_limits: expressionLimitsSchema,
  cluster: clusterSchema,
});

/** The whole input document, for the JSON Schema export. */
export const configInputSchema = strictObject({
  state: stateSchema,
  server: serverSchema,
  sources: z
    .array(z.union([...PRESETS.map((preset) => preset.schema), restSource] as unknown as [z.ZodType, ...z.ZodType[]]))
    .min(1)
    .describe(`What to poll: preset sources (\`preset: ${PRESET_NAMES.join("|")}\`) or generic ones (\`type: rest\`).`),
  targets: targetsSchema,
  expressions: expressionsSchema,
  expression_limits: expressionLimitsSchema,
  cluster: clusterSchema,
}).describe("retrohook configuration: sources to poll, targets to deliver webhooks to.");
