import type { RestResourceConfig } from "../../../config/types.js";
import { isInvoiceResource } from "../../../core/naming.js";
import type { JsonObject } from "../../../core/types.js";
import type { SourceDeps } from "../../deps.js";
import { httpSource, type ResourcePoller, type Source } from "../../source.js";
import { fakturowniaSource, RESOURCES, SECRET_KEYS, type FakturowniaSourceConfig } from "./config.js";
import { definePreset, resourcePart } from "../spec.js";
import { confirmByGet, RestPoller } from "../../rest/poller.js";
import type { HttpClient } from "../../http/client.js";

/**
 * Fakturownia (also VosFactures / InvoiceOcean): `api_token` in the query; lists are bare arrays
 * paged by `page`/`per_page` (max 100); no "changed since" filter, so incremental passes sort by
 * `updated_at` descending and page back to the cursor (the order is checked; a list that is not
 * sorted falls back to a complete scan). The sort is documented for invoices only: elsewhere it
 * must first be proven by a page (`orderProof`), complete scans until then. `period=all`
 * always, or records older than 12 months silently vanish. Facts: docs/vendors/fakturownia.md.
 */
/** The single-payment GET paths the docs show, the singular one first. */
export const PAYMENT_GETS = ["/banking/payment/{id}.json", "/banking/payments/{id}.json"] as const;

const ENDPOINTS: Record<string, { path: string; get: string; query?: Record<string, string>; orderDocumented: boolean }> = {
  invoices: { path: "/invoices.json", get: "/invoices/{id}.json", orderDocumented: true },
  cost_invoices: { path: "/invoices.json", get: "/invoices/{id}.json", query: { income: "no" }, orderDocumented: true },
  warehouse_documents: { path: "/warehouse_documents.json", get: "/warehouse_documents/{id}.json", orderDocumented: false },
  // The detail path is documented both singular and plural: found at run time (PAYMENT_GETS).
  payments: { path: "/banking/payments.json", get: PAYMENT_GETS[0], orderDocumented: false },
  // `order=updated_at` is shown for clients by the sister VosFactures doc.
  clients: { path: "/clients.json", get: "/clients/{id}.json", orderDocumented: true },
  products: { path: "/products.json", get: "/products/{id}.json", orderDocumented: false },
};

/** The source fact: this single-payment GET path answers (the other one did not). */
export function paymentGetFact(template: string): string {
  return `fakturownia:payment-get:${template}`;
}

/** The source facts of a resource whose `order=updated_at.desc` is undocumented. */
export function orderFacts(resource: string): { verified: string; unverified: string } {
  return { verified: `fakturownia:order-verified:${resource}`, unverified: `fakturownia:order-unverified:${resource}` };
}

/**
 * Deletions of payments: the path that answers GET for a payment seen in this pass (the probe) is
 * the one used, and remembered as a source fact; a path that answers 404 for it confirms nothing.
 */
function paymentConfirmer(http: HttpClient): NonNullable<ResourcePoller["confirmGone"]> {
  let known: string | undefined;
  return async (refs, probe, context) => {
    known ??= PAYMENT_GETS.find((template) => context.facts?.has(paymentGetFact(template)));
    const order = known ? [known, ...PAYMENT_GETS.filter((t) => t !== known)] : [...PAYMENT_GETS];
    for (const template of order) {
      const check = await http.request({ url: template.replace("{id}", encodeURIComponent(probe.id)), allow: [404, 410] }, context.signal);
      if (check.status < 200 || check.status >= 300) continue;
      if (template !== known) {
        context.logger.info({ path: template }, "the single-payment GET path that answers is remembered");
        for (const other of PAYMENT_GETS) if (other !== template) await context.facts?.forget(paymentGetFact(other));
        await context.facts?.learn(paymentGetFact(template));
        known = template;
      }
      return confirmByGet(http, template, refs, probe, context);
    }
    context.logger.warn({ paths: PAYMENT_GETS }, "no single-payment GET path answered for a payment that exists; payment deletions wait for a second reconcile");
    return new Map(refs.map((ref) => [`${ref.kind ?? ""}\u001f${ref.id}`, "unknown" as const]));
  };
}


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
  return httpSource(config, http, (resource) => {
    const endpoint = resourcePart(ENDPOINTS, resource.name, `source ${config.name}: fakturownia`);
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
    const money = isInvoiceResource(resource.name);
    return new RestPoller(http, rest, config, {
      ...(endpoint.orderDocumented ? {} : { orderProof: orderFacts(resource.name) }),
      ...(resource.name === "payments" ? { confirmGone: paymentConfirmer(http) } : {}),
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
}

/** The `preset: fakturownia` spec: config schema, resources, secret keys and the factory. */
export const fakturowniaPreset = definePreset({
  name: "fakturownia",
  schema: fakturowniaSource,
  resources: RESOURCES,
  secretKeys: SECRET_KEYS,
  create: createFakturowniaSource,
});
