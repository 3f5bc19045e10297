import { isInvoiceResource } from "../../../core/naming.js";
import type { Transition } from "../../../core/transitions.js";
import type { SourceDeps } from "../../deps.js";
import { httpSource, type Source } from "../../source.js";
import { fakturoidSource, RESOURCES, SECRET_KEYS, type FakturoidSourceConfig } from "./config.js";
import { definePreset, resourcePart } from "../spec.js";
import { FakturoidPoller, type FakturoidEndpoint } from "./poller.js";
import { RateLimitGuard } from "./rate-limit.js";
import { FakturoidTokens } from "./token.js";

/** Canonical resources → Fakturoid v3 endpoints under /accounts/{slug}. */
const ENDPOINTS: Record<string, FakturoidEndpoint> = {
  // Deleted invoices and expenses go to the trash: their detail GET may still answer.
  invoices: { list: "/invoices.json", detail: "/invoices/{id}.json", trash: true },
  cost_invoices: { list: "/expenses.json", detail: "/expenses/{id}.json", trash: true },
  clients: { list: "/subjects.json", detail: "/subjects/{id}.json" },
  products: { list: "/inventory_items.json", detail: "/inventory_items/{id}.json", archived: "/inventory_items/archived.json" },
  // Moves have no top-level detail: only /inventory_items/{item}/inventory_moves/{id}.json.
  warehouse_documents: { list: "/inventory_moves.json", detail: "/inventory_items/{parent}/inventory_moves/{id}.json", parentField: "inventory_item_id" },
};


/** Invoices and expenses: `status` becomes `paid` (built-in), or `overdue`. */
const DOCUMENT_TRANSITIONS: Transition[] = [
  { event: "paid", anyOf: [{ field: "status", to: "paid" }] },
  { event: "overdue", anyOf: [{ field: "status", to: "overdue" }] },
];

/** The form Fakturoid requires, or it answers 400: `AppName (contact@email)`. */
export const USER_AGENT_FORM = /^\S.*\s\([^\s()@]+@[^\s()@]+\.[^\s()@]+\)$/;

/**
 * Requests an idle incremental pass costs: one list page per resource, plus a token request when
 * passes are further apart than a token lives (2 h), as budgets of ~1,500 a month make them.
 */
export function fakturoidIdlePassCost(config: Pick<FakturoidSourceConfig, "resources">, passIntervalMs: number): number {
  return config.resources.length + (passIntervalMs >= 7200_000 - 5 * 60_000 ? 1 : 0);
}

/** `https://app.fakturoid.cz/api/v3`, or `base_url` + `/api/v3` (a trailing `/api/v3` is accepted). */
export function fakturoidApiRoot(config: Pick<FakturoidSourceConfig, "base_url">): string {
  return `${(config.base_url ?? "https://app.fakturoid.cz").replace(/\/+$/, "").replace(/\/api\/v3$/, "")}/api/v3`;
}

/**
 * Fakturoid (API v3): OAuth 2 client credentials, a mandatory `User-Agent` on every request
 * (token requests included), rate-limit headers obeyed. Facts: docs/vendors/fakturoid.md.
 */
export function createFakturoidSource(config: FakturoidSourceConfig, deps: SourceDeps): Source {
  if (!USER_AGENT_FORM.test(config.user_agent)) {
    throw new Error(`source ${config.name}: user_agent must look like "AppName (you@example.com)" — Fakturoid answers 400 to anything else`);
  }
  const root = fakturoidApiRoot(config);
  const headers = { "user-agent": config.user_agent };
  const guard = new RateLimitGuard(deps.clock, deps.logger);
  // Its own client (no auth hook) but made by deps: the budget counts token requests too.
  const tokenHttp = deps.httpClient({ baseUrl: root, headers });
  const tokens = new FakturoidTokens(tokenHttp, guard, { clientId: config.client_id, clientSecret: config.client_secret }, deps.clock, deps.logger);
  const http = deps.httpClient({
    baseUrl: `${root}/accounts/${encodeURIComponent(config.account)}`,
    headers,
    authorize: (request, retryAuth) => tokens.authorize(request, retryAuth),
    classifyStatus: (status) => {
      if (status === 401) tokens.invalidate();
      return undefined;
    },
  });
  return httpSource(
    config,
    http,
    (resource) => new FakturoidPoller(http, guard, resource, resourcePart(ENDPOINTS, resource.name, `source ${config.name}: fakturoid`), config, isInvoiceResource(resource.name) ? DOCUMENT_TRANSITIONS : []),
    [tokenHttp],
  );
}

/** The `preset: fakturoid` spec: config schema, resources, secret keys, idle-pass cost and the factory. */
export const fakturoidPreset = definePreset({
  name: "fakturoid",
  schema: fakturoidSource,
  resources: RESOURCES,
  secretKeys: SECRET_KEYS,
  idlePassCost: fakturoidIdlePassCost,
  create: createFakturoidSource,
});
