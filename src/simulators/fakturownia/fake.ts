import { startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from "../kit.js";
import { pageOf, selectRows, type ListResource } from "./list.js";
import { FakturowniaValidationError, parseUtcOffset, toBoolean, type FakturowniaRecord } from "./records.js";
import { FakturowniaNotFoundError, FakturowniaState, type FakturowniaResource } from "./state.js";
import type { WebhookDelivery } from "./webhooks.js";

export type { FakturowniaResource } from "./state.js";
export type { FakturowniaRecord } from "./records.js";
export type { WebhookDelivery } from "./webhooks.js";
export { FakturowniaNotFoundError } from "./state.js";
export { FakturowniaValidationError } from "./records.js";

/**
 * A faithful Fakturownia double (the facts it models: docs/vendors/fakturownia.md). Lists are bare arrays paged by
 * `page`/`per_page` (default 25, clamped to 100), filtered by `period` (default
 * `last_12_months`), sorted by `order=<field>[.desc]`; there is no changed-since filter.
 * Invoices and cost invoices share `/invoices.json`, split by `income`. The payment detail lives
 * at the singular `/banking/payment/{id}.json` (or, with `paymentGetPath: "plural"`, at
 * `/banking/payments/{id}.json`). A list may ignore `order` (`ignoreOrder`). 429/5xx/HTML
 * replies come from `injectFault`.
 *
 * Reads in-process (`get`, `all`, `create`…) return records as a list renders them (no
 * `positions`); `GET /{resource}/{id}.json` adds the positions.
 */

export interface FakturowniaFakeOptions {
  /** Loopback port; default 0 (a free one). */
  port?: number;
  /** The account's API token; default "fake-token". */
  apiToken?: string;
  /** Clock in epoch ms for timestamps, `today` and periods; default Date.now. */
  now?: () => number;
  /** The account's UTC offset in rendered timestamps and local dates; default "+01:00". */
  utcOffset?: string;
  /**
   * Lists that ignore `order` and answer newest id first (`order=updated_at.desc` is documented
   * for invoices only); default none.
   */
  ignoreOrder?: ListResource[];
  /**
   * Which single-payment path answers GET (the docs show both `/banking/payment/{id}.json` and
   * `/banking/payments/{id}.json`); default "singular". The other path answers 404.
   */
  paymentGetPath?: "singular" | "plural";
}

export interface FakturowniaFake extends FakeServer {
  readonly apiToken: string;
  create(resource: FakturowniaResource, fields?: Record<string, unknown>): Record<string, unknown>;
  update(resource: FakturowniaResource, id: number, patch: Record<string, unknown>): Record<string, unknown>;
  remove(resource: FakturowniaResource, id: number): void;
  /** Creates a banking payment for the invoice and updates its `paid`/`status`/`paid_date`. */
  addPayment(invoiceId: number, amount: string): Record<string, unknown>;
  get(resource: FakturowniaResource, id: number): Record<string, unknown> | undefined;
  all(resource: FakturowniaResource): Record<string, unknown>[];
  /** Bulk insert without validation or webhooks; issue dates spread over the last two years. */
  seed(resource: FakturowniaResource, count: number, fields?: (i: number) => Record<string, unknown>): void;
  /** When set, list requests answer 200 `{"status":"error","message":...}`. */
  setBodyError(message: string | null): void;
  /** Registers a native webhook (kinds `invoice|client|product:create|update|destroy`, loopback URL). */
  addWebhook(kind: string, url: string, apiToken?: string): Record<string, unknown>;
  /** Webhook POSTs attempted so far, with the receiver's status (-1 = network error). */
  readonly webhookDeliveries: WebhookDelivery[];
  /** Resolves when every webhook delivery started so far has finished. */
  webhooksIdle(): Promise<void>;
}

export const UNAUTHORIZED_MESSAGE = "You must be logged in to gain access to the site";

const NOT_FOUND: FakeResponse = { status: 404, body: { code: "error", message: "Not found" } };
const WRAPPERS: Record<FakturowniaResource, string> = {
  invoices: "invoice",
  cost_invoices: "invoice",
  warehouse_documents: "warehouse_document",
  payments: "banking_payment",
  clients: "client",
  products: "product",
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A record as lists render it: lines only with `include_positions=true`. */
function listView(record: FakturowniaRecord, withPositions = false): FakturowniaRecord {
  const { positions, ...rest } = record;
  return withPositions && positions !== undefined ? { ...rest, positions: structuredClone(positions) } : structuredClone(rest);
}

/** `fields[invoice]=a,b` keeps only those attributes. */
function restrict(record: FakturowniaRecord, query: URLSearchParams, wrapper: string): FakturowniaRecord {
  const fields = query.get(`fields[${wrapper}]`);
  if (!fields) return record;
  const keep = new Set(fields.split(",").map((f) => f.trim()));
  return Object.fromEntries(Object.entries(record).filter(([key]) => keep.has(key)));
}

export async function startFakturowniaFake(options: FakturowniaFakeOptions = {}): Promise<FakturowniaFake> {
  const apiToken = options.apiToken ?? "fake-token";
  const offset = options.utcOffset ?? "+01:00";
  const state = new FakturowniaState({ now: options.now ?? Date.now, offset, offsetMinutes: parseUtcOffset(offset) });
  let bodyError: string | null = null;

  function detail(resource: FakturowniaResource, record: FakturowniaRecord, query: URLSearchParams): FakturowniaRecord {
    const wrapper = WRAPPERS[resource];
    const view = listView(record, true);
    if (resource === "invoices" && query.get(`additional_fields[${wrapper}]`)?.split(",").includes("connected_payments")) {
      view.connected_payments = state.connectedPayments(record.id as number).map((p) => listView(p));
    }
    return restrict(view, query, wrapper);
  }

  function list(resource: ListResource, query: URLSearchParams): FakeResponse {
    if (bodyError !== null) return { status: 200, body: { status: "error", message: bodyError } };
    const table = state.tables[resource === "invoices" || resource === "cost_invoices" ? "documents" : resource];
    let selection = query;
    if (options.ignoreOrder?.includes(resource) && query.has("order")) {
      selection = new URLSearchParams(query);
      selection.delete("order");
    }
    const rows = pageOf(selectRows(table, resource, selection, state.today()), query);
    const positions = ["true", "1"].includes(query.get("include_positions") ?? "");
    const wrapper = WRAPPERS[resource];
    const body = rows.map((record) => {
      const view = listView(record, positions);
      if (resource === "products" && query.has("warehouse_id")) view.stock_level = view.stock_level ?? "0.0";
      if (resource === "payments" && query.get("include") === "invoices") {
        view.invoices = state.connectedInvoices(record).map((invoice) => listView(invoice));
      }
      return restrict(view, query, wrapper);
    });
    return { status: 200, body };
  }

  function guarded(run: () => FakeResponse): FakeResponse {
    try {
      return run();
    } catch (error) {
      if (error instanceof FakturowniaValidationError) return { status: 422, body: { code: "error", message: error.errors } };
      if (error instanceof FakturowniaNotFoundError) return NOT_FOUND;
      throw error;
    }
  }

  /** Collection and member routes shared by every resource. */
  function resourceRoute(resource: FakturowniaResource, request: FakeRequest, body: Json, id: number | undefined, detailAllowed = true): FakeResponse {
    const wrapper = WRAPPERS[resource];
    const fields = isObject(body[wrapper]) ? { ...(body[wrapper] as Json) } : {};
    const { method, query } = request;
    if (id === undefined) {
      if (method === "GET") return list(resource, query);
      if (method !== "POST") return NOT_FOUND;
      let target = resource;
      if (resource === "invoices" && "income" in fields) {
        target = toBoolean(fields.income) ? "invoices" : "cost_invoices";
        delete fields.income;
      }
      for (const field of ["id", "token", "view_url"]) delete fields[field];
      return guarded(() => ({ status: 201, body: detail(target, state.create(target, fields), query) }));
    }
    const record = resource === "invoices" ? state.tables.documents.rows.get(id) : state.find(resource, id);
    if (!record) return NOT_FOUND;
    const actual: FakturowniaResource = resource === "invoices" && record.income === false ? "cost_invoices" : resource;
    switch (method) {
      case "GET":
        return detailAllowed ? { status: 200, body: detail(actual, record, query) } : NOT_FOUND;
      case "PUT":
      case "PATCH":
        return guarded(() => ({ status: 200, body: detail(actual, state.update(actual, id, fields), query) }));
      case "DELETE":
        state.remove(actual, id);
        return { status: 200, body: { code: "success", message: "Usunięto" } };
      default:
        return NOT_FOUND;
    }
  }

  function webhookRoute(request: FakeRequest, body: Json, id: number | undefined): FakeResponse {
    const fields = isObject(body.webhook) ? body.webhook : {};
    if (id === undefined) {
      if (request.method === "GET") return { status: 200, body: [...state.webhooks.hooks.values()] };
      if (request.method === "POST") return guarded(() => ({ status: 201, body: state.webhooks.save(fields) }));
      return NOT_FOUND;
    }
    const hook = state.webhooks.hooks.get(id);
    if (!hook) return NOT_FOUND;
    if (request.method === "GET") return { status: 200, body: hook };
    if (request.method === "PUT" || request.method === "PATCH") return guarded(() => ({ status: 200, body: state.webhooks.save(fields, id) }));
    if (request.method === "DELETE") {
      state.webhooks.hooks.delete(id);
      return { status: 200, body: { code: "success", message: "Usunięto" } };
    }
    return NOT_FOUND;
  }

  function route(request: FakeRequest, body: Json): FakeResponse {
    if (!request.path.endsWith(".json")) return NOT_FOUND;
    const parts = request.path.slice(1, -".json".length).split("/");
    const idAt = (index: number): number | undefined => {
      const raw = parts[index];
      return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
    };
    const [head, second, third] = parts;
    const method = request.method;

    if (head === "invoices") {
      if (parts.length === 2 && second === "cancel" && method === "POST") {
        const id = Number(body.cancel_invoice_id ?? request.query.get("cancel_invoice_id"));
        return guarded(() => ({ status: 200, body: detail("invoices", state.cancel(id, body.cancel_reason), request.query) }));
      }
      if (parts.length === 3 && third === "change_status" && method === "POST" && idAt(1) !== undefined) {
        const status = String(request.query.get("status") ?? body.status ?? "");
        const id = idAt(1) as number;
        return guarded(() => {
          const record = state.changeStatus(id, status);
          return { status: 200, body: detail(record.income === true ? "invoices" : "cost_invoices", record, request.query) };
        });
      }
      if (parts.length === 1) {
        const income = request.query.get("income");
        const cost = income !== null && ["no", "0", "false"].includes(income.toLowerCase());
        return resourceRoute(cost && method === "GET" ? "cost_invoices" : "invoices", request, body, undefined);
      }
      if (parts.length === 2 && idAt(1) !== undefined) return resourceRoute("invoices", request, body, idAt(1));
      return NOT_FOUND;
    }
    if (head === "banking") {
      if (parts.length === 2 && second === "payments") return resourceRoute("payments", request, body, undefined);
      if (parts.length === 3 && idAt(2) !== undefined) {
        // the detail path is documented both ways; one of them reads, the plural member path writes
        const plural = options.paymentGetPath === "plural";
        if (second === "payment") return plural ? NOT_FOUND : resourceRoute("payments", request, body, idAt(2));
        if (second === "payments") return resourceRoute("payments", request, body, idAt(2), plural);
      }
      return NOT_FOUND;
    }
    if (head === "warehouse_documents" || head === "clients" || head === "products") {
      if (parts.length === 1) return resourceRoute(head, request, body, undefined);
      if (parts.length === 2 && idAt(1) !== undefined) return resourceRoute(head, request, body, idAt(1));
      return NOT_FOUND;
    }
    if (head === "webhooks") {
      if (parts.length === 1) return webhookRoute(request, body, undefined);
      if (parts.length === 2 && idAt(1) !== undefined) return webhookRoute(request, body, idAt(1));
    }
    return NOT_FOUND;
  }

  function handle(request: FakeRequest): FakeResponse {
    const readsBody = !["GET", "DELETE", "HEAD"].includes(request.method);
    let body: Json = {};
    if (readsBody && request.body.trim() !== "") {
      try {
        const parsed: unknown = JSON.parse(request.body);
        body = isObject(parsed) ? parsed : {};
      } catch {
        return { status: 400, body: { code: "error", message: "Bad Request" } };
      }
    }
    // Rails merges query and body params: writes may carry the token in either place
    const token = (readsBody && typeof body.api_token === "string" ? body.api_token : undefined) ?? request.query.get("api_token");
    if (token !== apiToken) return { status: 401, body: { code: "error", message: UNAUTHORIZED_MESSAGE } };
    return route(request, body);
  }

  const server = await startFakeServer(handle, { port: options.port });
  return Object.assign(server, {
    apiToken,
    webhookDeliveries: state.webhooks.deliveries,
    create: (resource: FakturowniaResource, fields?: Record<string, unknown>) => listView(state.create(resource, fields)),
    update: (resource: FakturowniaResource, id: number, patch: Record<string, unknown>) => listView(state.update(resource, id, patch)),
    remove: (resource: FakturowniaResource, id: number) => state.remove(resource, id),
    addPayment: (invoiceId: number, amount: string) => listView(state.addPayment(invoiceId, amount)),
    get: (resource: FakturowniaResource, id: number) => {
      const record = state.find(resource, id);
      return record ? listView(record) : undefined;
    },
    all: (resource: FakturowniaResource) => {
      const table = state.tables[resource === "invoices" || resource === "cost_invoices" ? "documents" : resource];
      return [...table.rows.values()].filter((r) => state.find(resource, r.id as number) !== undefined).map((r) => listView(r));
    },
    seed: (resource: FakturowniaResource, count: number, fields?: (i: number) => Record<string, unknown>) => state.seed(resource, count, fields),
    setBodyError: (message: string | null) => {
      bodyError = message;
    },
    addWebhook: (kind: string, url: string, hookToken?: string) => state.webhooks.save({ kind, url, api_token: hookToken ?? null }),
    webhooksIdle: () => state.webhooks.idle(),
  });
}
