import type { RestResourceConfig } from "../../../config/types.js";
import type { JsonObject } from "../../../core/types.js";
import type { SourceDeps } from "../../deps.js";
import type { Source } from "../../source.js";
import { fakturowniaSource, RESOURCES, SECRET_KEYS, type FakturowniaSourceConfig } from "./config.js";
import { definePreset } from "../spec.js";
import { RestPoller } from "../../rest/poller.js";

/**
 * Fakturownia (also VosFactures / InvoiceOcean): `api_token` in the query; lists are bare arrays
 * paged by `page`/`per_page` (max 100); no "changed since" filter, so incremental passes sort by
 * `updated_at` descending and page back to the cursor (the order is checked; a list that is not
 * sorted falls back to a complete scan). `period=all` always, or records older than 12 months
 * silently vanish. Facts: README, "Vendors".
 */
const ENDPOINTS: Record<string, { path: string; get: string; query?: Record<string, string> }> = {
  invoices: { path: "/invoices.json", get: "/invoices/{id}.json" },
  cost_invoices: { path: "/invoices.json", get: "/invoices/{id}.json", query: { income: "no" } },
  warehouse_documents: { path: "/warehouse_documents.json", get: "/warehouse_documents/{id}.json" },
  // The detail path is singular while the list is plural (a vendor quirk).
  payments: { path: "/banking/payments.json", get: "/banking/payment/{id}.json" },
  clients: { path: "/clients.json", get: "/clients/{id}.json" },
  products: { path: "/products.json", get: "/products/{id}.json" },
};


/** `mycompany` → https://mycompany.fakturownia.pl; a full host is used as it is. */
export function fakturowniaBaseUrl(config: Pick<FakturowniaSourceConfig, "base_url" | "domain">): string {
  if (config.base_url) return config.base_url.replace(/\/+$/, "");
  const domain = config.domain ?? "";
  return domain.includes(".") ? `https://${domain.replace(/^https?:\/\//, "")}` : `https://${domain}.fakturownia.pl`;
}

/** 200 answers with `{"status":"error","message":…}` or `{"code":"error",…}` are errors. */
export function fakturowniaBodyError(body: unknown): string | undefined {
  if (!body || typeof body !== "object" || Array.isArray(body)) return undefined;
  const object = body as JsonObject;
  if (object.status === "error" || object.code === "error") return typeof object.message === "string" ? object.message : JSON.stringify(object.message ?? "error");
  return undefined;
}

export function createFakturowniaSource(config: FakturowniaSourceConfig, deps: SourceDeps): Source {
  const http = deps.httpClient({ baseUrl: fakturowniaBaseUrl(config), query: { api_token: config.api_token } });
  const pollers = config.resources.map((resource) => {
    const endpoint = ENDPOINTS[resource.name]!;
    const rest: RestResourceConfig = {
      ...resource,
      path: endpoint.path,
      query: { period: "all", order: "updated_at.desc", ...endpoint.query },
      id: "id",
      created_field: "created_at",
      cursor: { field: "updated_at", order: "desc", type: "time", format: "iso" },
      pagination: { style: "page", page_param: "page", size_param: "per_page", size: 100, first_page: 1 },
      get: endpoint.get,
    };
    const money = resource.name === "invoices" || resource.name === "cost_invoices";
    return new RestPoller(http, rest, config, {
      builtIn: money
        ? [
            { event: "paid", anyOf: [{ field: "status", to: "paid" }] },
            { event: "partially_paid", anyOf: [{ field: "status", to: "partial" }] },
          ]
        : resource.name === "payments"
          ? [{ event: "paid", anyOf: [{ field: "paid", to: true }] }]
          : [],
      bodyError: fakturowniaBodyError,
    });
  });
  return { name: config.name, http, pollers, close: () => http.close() };
}

/** The `preset: fakturownia` spec: config schema, resources, secret keys and the factory. */
export const fakturowniaPreset = definePreset({
  name: "fakturownia",
  schema: fakturowniaSource,
  resources: RESOURCES,
  secretKeys: SECRET_KEYS,
  create: createFakturowniaSource,
});
