/**
 * The config after loading: YAML parsed, `${VAR}` substituted, `K_file` read into `K`,
 * durations converted to milliseconds, defaults applied, resources normalised to objects.
 * Keys keep the YAML spelling (snake_case) so errors, docs and code use one vocabulary.
 */

import type { PresetName, PresetSourceConfig } from "../sources/presets/index.js";

export type { PresetName, PresetSourceConfig };

/** First run of a resource: `baseline` records silently, `backfill` emits `created` for all,
 *  `since` emits `created` for records whose `created_field` is on or after the instant. */
export type StartMode = { mode: "baseline" } | { mode: "backfill" } | { mode: "since"; since: string };

export interface BudgetConfig {
  requests: number;
  per: "hour" | "day" | "month";
}

/** User transition rule: fires `event` when the predicate goes false → true. */
export type TransitionRule =
  | { event: string; field: string; to: unknown; from?: unknown }
  | { event: string; field: string; changed: true };

export interface CursorConfig {
  field: string;
  /** Query parameter that receives the cursor (parameter mode and serial-id mode). */
  param?: string;
  /** `desc`: the list is sorted by `field` descending; page until older than cursor − overlap. */
  order?: "desc";
  /** `id`: serial ids, no overlap, strictly greater. Default `time`. */
  type: "time" | "id";
  /** How a time cursor is written into the parameter. Default `iso`. */
  format: "iso" | "unix" | "YYYY-MM-DD HH:mm:ss";
}

export type PaginationConfig =
  | { style: "page"; page_param: string; size_param?: string; size: number; first_page: number }
  | { style: "offset"; offset_param: string; limit_param: string; size: number }
  | { style: "next"; next: string; token_param?: string }
  | { style: "none" };

/** Fields every resource has, generic or preset. */
export interface ResourceCommon {
  name: string;
  type_prefix?: string;
  ignore_fields: string[];
  transitions: TransitionRule[];
  start?: StartMode;
  max_delete_ratio: number;
  max_delete_min: number;
  /** Bounds of one pass (pages, records); default derived from the last complete listing. */
  max_pass_pages?: number;
  max_pass_records?: number;
}

export interface RestResourceConfig extends ResourceCommon {
  path: string;
  query: Record<string, string>;
  /** Dotted path to the array of records; undefined when the body is the array. */
  records?: string;
  id: string;
  created_field?: string;
  cursor?: CursorConfig;
  pagination: PaginationConfig;
  /** Single-record URL template with `{id}`, to confirm deletions. */
  get?: string;
  /** Built-in `paid` rule for this resource. */
  paid?: { field: string; to: unknown };
}

export type PresetResourceConfig = ResourceCommon;

export interface SourceCommon {
  name: string;
  base_url?: string;
  schedule: string;
  reconcile: string;
  timezone: string;
  overlap: number;
  start: StartMode;
  budget?: BudgetConfig;
  max_response_bytes: number;
  /** Per-request timeout, ms (default 30 s). */
  timeout: number;
  /** Longest back-off a vendor's Retry-After may impose, ms (default 24 h). */
  max_retry_after: number;
  /** A suspension or a denied feed is tried again (one request) after this long, ms (default 1 h). */
  reprobe: number;
  /** Defaults of the resources' `max_pass_pages` / `max_pass_records`. */
  max_pass_pages?: number;
  max_pass_records?: number;
}

export interface RestSourceConfig extends SourceCommon {
  type: "rest";
  base_url: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  resources: RestResourceConfig[];
}

/** Preset sources: their config types come from their specs' schemas (sources/presets/<vendor>/config.ts). */
export type SourceConfig = RestSourceConfig | PresetSourceConfig;

export type TargetFormat = "standard" | "cloudevents" | "fakturownia" | "facturascripts";

export interface TargetConfig {
  name: string;
  /**
   * The transport (`http`, `nats`, `amqp`, `redis-stream`); absent means `http`. Each transport's
   * own keys (`subject`, `exchange`…) are declared in its folder under `src/transports/`.
   */
  type?: string;
  url: string;
  secret?: string;
  /** Glob patterns on the event `type`; default all. */
  events?: string[];
  /** Source names; default all. */
  sources?: string[];
  format: TargetFormat;
  /** ms, default 10 s. */
  timeout: number;
  headers: Record<string, string>;
  /** `max_retry_after`: longest wait a receiver's Retry-After may impose, ms (default 24 h). */
  retry: { max_age: number; max_retry_after?: number };
  concurrency: number;
  tls?: { ca: string };
  /** Only for format `fakturownia`: echoed in the body as the vendor does. */
  api_token?: string;
  /** Only for format `fakturownia`. */
  locale?: string;
  /** JSONata over the envelope, run when an event is routed here: false filters it out. */
  filter?: TargetExpression;
  /** JSONata over the envelope, run when an event is routed here: its result is the body. */
  transform?: TargetExpression;
}

/** A target's `filter` or `transform`, compiled when the config was loaded. */
export interface TargetExpression {
  text: string;
  /** Where it is written, for messages: `expressions.big_costs` or `targets[1].filter`. */
  label: string;
  limits: { timeoutMs: number; maxBytes: number };
}

/** `state.retention`, in ms (docs/decisions/0015). */
export interface RetentionConfig {
  events: number;
  delivery_log: number;
  dead_letters: number;
}

export interface ServerConfig {
  listen: string;
  admin_token?: string;
  /** `/metrics` without the admin token even when `listen` is not loopback. */
  metrics_public?: boolean;
}

/** `cluster:` — replicas on one PostgreSQL state. */
export interface ClusterConfig {
  /** Lease TTL, ms. */
  lease: number;
  replica_id?: string;
}

export interface Config {
  /** Absolute path of the file loaded. */
  path: string;
  state: { url: string; retention?: RetentionConfig };
  server: ServerConfig;
  sources: SourceConfig[];
  targets: TargetConfig[];
  /** Set: this process is one of several replicas (PostgreSQL state only). */
  cluster?: ClusterConfig;
  /** Values that came from `${VAR}` or a `*_file`: secrets wherever they land (see config/secrets.ts). */
  secrets?: string[];
}

export function isRestSource(source: SourceConfig): source is RestSourceConfig {
  return "type" in source && source.type === "rest";
}
