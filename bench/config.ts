import type { Config, CursorConfig, RestResourceConfig, RestSourceConfig, TargetConfig } from "../src/config/types.js";

/**
 * Config objects built literally, as the loader would produce them after defaults: one `rest`
 * source per fake dataset, one receiver target.
 */

export type CursorMode = "param" | "desc" | "id" | "none";

/** Standard Webhooks secret of the bench target (32 bytes, base64). */
export const BENCH_SECRET = `whsec_${Buffer.from("retrohook-bench-signing-key-0032").toString("base64")}`;

/** Changes older than the last cursor by up to this much are listed again (the default). */
export const OVERLAP_MS = 5 * 60_000;

/** A schedule that never fires during a run. */
export const NEVER = "0 0 1 1 *";

const CURSORS: Record<Exclude<CursorMode, "none">, { cursor: CursorConfig; query: Record<string, string> }> = {
  param: { cursor: { field: "updated_at", param: "modified_since", type: "time", format: "iso" }, query: {} },
  desc: { cursor: { field: "updated_at", order: "desc", type: "time", format: "iso" }, query: { sort: "modified_desc" } },
  id: { cursor: { field: "id", param: "id_gt", type: "id", format: "iso" }, query: {} },
};

export interface SourceOptions {
  name: string;
  baseUrl: string;
  dataset: string;
  cursor: CursorMode;
  pageSize: number;
  schedule?: string;
  reconcile?: string;
  start?: RestSourceConfig["start"];
}

export function benchSource(options: SourceOptions): RestSourceConfig {
  const mode = options.cursor === "none" ? undefined : CURSORS[options.cursor];
  const resource: RestResourceConfig = {
    name: "invoices",
    type_prefix: "invoice",
    path: `/d/${options.dataset}/invoices`,
    query: mode?.query ?? {},
    id: "id",
    created_field: "created_at",
    ...(mode ? { cursor: mode.cursor } : {}),
    pagination: { style: "page", page_param: "page", size_param: "per_page", size: options.pageSize, first_page: 1 },
    get: `/d/${options.dataset}/invoices/{id}`,
    paid: { field: "status", to: "paid" },
    ignore_fields: [],
    transitions: [],
    max_delete_ratio: 0.2,
    max_delete_min: 10,
  };
  return {
    name: options.name,
    type: "rest",
    base_url: options.baseUrl,
    headers: { authorization: "Bearer bench-token-0001" },
    query: {},
    schedule: options.schedule ?? "*/5 * * * *",
    reconcile: options.reconcile ?? NEVER,
    timezone: "UTC",
    overlap: OVERLAP_MS,
    start: options.start ?? { mode: "baseline" },
    max_response_bytes: 50 * 1024 * 1024,
    timeout: 30_000,
    max_retry_after: 24 * 3_600_000,
    reprobe: 3_600_000,
    resources: [resource],
  };
}

export const TARGET_CONCURRENCY = 4;

export function benchTarget(url: string): TargetConfig {
  return {
    name: "receiver",
    url,
    secret: BENCH_SECRET,
    format: "standard",
    timeout: 10_000,
    headers: {},
    retry: { max_age: 24 * 3_600_000 },
    concurrency: TARGET_CONCURRENCY,
  };
}

/** `stateFile` is a SQLite file, or a whole state URL (`postgres://…`). */
export function benchConfig(stateFile: string, sources: RestSourceConfig[], targets: TargetConfig[]): Config {
  const url = /^[a-z]+:\/\//.test(stateFile) ? stateFile : `sqlite://${stateFile}`;
  return {
    path: `${url.startsWith("sqlite://") ? stateFile : "postgres-state"}.yaml`,
    state: { url },
    server: { listen: "127.0.0.1:0" },
    sources,
    targets,
  };
}
