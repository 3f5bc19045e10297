import { randomBytes } from "node:crypto";
import { startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from "../../../src/simulators/kit.js";
import { parseIsoDateTime, pragueDate } from "./local-time.js";
import { MONEY_FIELDS, formatMoney, isFakturoidResource, parseCents, type FakturoidRecord, type FakturoidResource } from "./records.js";
import { LockedError, createFakturoidStore, type FakturoidListOrder, type ListFilters } from "./store.js";

export type { FakturoidRecord, FakturoidResource } from "./records.js";
export type { FakturoidListOrder } from "./store.js";

/**
 * A faithful Fakturoid API v3 double (see docs/vendors/fakturoid.md): client-credentials
 * tokens that expire on the injected clock, mandatory User-Agent, `/api/v3/accounts/{slug}`
 * JSON resources paged at 40 in no documented order, rate-limit headers on every response
 * and 429 when the window is spent. 503/5xx/resets come from the kit's `injectFault`.
 * Webhooks are not emitted.
 */

export interface FakturoidFakeOptions {
  /** Loopback port; default 0 (a free one). */
  port?: number;
  /** Account slug served under /api/v3/accounts/{slug}; default "acme". */
  slug?: string;
  /** OAuth client id; default "cid". */
  clientId?: string;
  /** OAuth client secret; default "csecret". */
  clientSecret?: string;
  /** Lifetime of issued tokens in seconds of the injected clock; default 7200. */
  tokenTtlSeconds?: number;
  /** Clock in epoch ms; default Date.now. */
  now?: () => number;
  /** Requests per fixed window; default 400 per 60 s. */
  rateLimit?: { quota: number; windowSeconds: number };
  /** Plan quota; only recorded (Fakturoid does not cut off), requests counted by monthlyCount(). */
  monthlyQuota?: number;
  /** Reaction to an unparseable date filter such as an unencoded `+` offset; default "error" (400). */
  rawPlusInQuery?: "error" | "ignore-filter";
  /** List order; default "updated_desc". Pollers must not depend on it. */
  listOrder?: FakturoidListOrder;
  /**
   * Require the documented `User-Agent: AppName (contact@email)` form, so HTTP clients'
   * default agents ("node", "got (…)") are refused like a missing header; default true.
   */
  strictUserAgent?: boolean;
  /** Records per list page; default 40 (documented). Fakturoid may change it: pollers must not rely on 40. */
  pageSize?: number;
  /**
   * Deleted invoices and expenses go to the trash: they leave the lists, but their detail GET
   * still answers 200 with the document (undocumented either way); default false (404).
   */
  trash?: boolean;
}

export interface FakturoidFake extends FakeServer {
  create(resource: FakturoidResource, fields?: Record<string, unknown>): Record<string, unknown>;
  update(resource: FakturoidResource, id: number, patch: Record<string, unknown>): Record<string, unknown>;
  remove(resource: FakturoidResource, id: number): void;
  addPayment(resource: "invoices" | "expenses", id: number, amount?: string): Record<string, unknown>;
  get(resource: FakturoidResource, id: number): Record<string, unknown> | undefined;
  all(resource: FakturoidResource): Record<string, unknown>[];
  seed(resource: FakturoidResource, count: number): void;
  expireTokens(): void;
  tokensIssued(): number;
  monthlyCount(): number;
  /** `n` requests left in the current window, or in the one the next request opens when none is open. */
  setRateLimitRemaining(n: number): void;
  /** The configured monthly plan quota, if any. */
  readonly monthlyQuota: number | undefined;
}

export const PAGE_SIZE = 40;

type DateFilter = "since" | "until" | "updated_since" | "updated_until";
const ALL_DATES: DateFilter[] = ["since", "until", "updated_since", "updated_until"];
/** Documented filters per list; anything else in the query is ignored, as Rails does. */
const FILTERS: Record<FakturoidResource, { dates: DateFilter[]; equals: string[] }> = {
  invoices: { dates: ALL_DATES, equals: ["subject_id", "custom_id", "number", "status", "document_type"] },
  expenses: { dates: ["since", "updated_since"], equals: ["subject_id", "custom_id", "number", "variable_symbol", "status"] },
  subjects: { dates: ["since", "updated_since"], equals: ["custom_id"] },
  inventory_items: { dates: ALL_DATES, equals: ["article_number", "sku"] },
  inventory_moves: { dates: ALL_DATES, equals: ["inventory_item_id"] },
};
/** Fields an HTTP write may set; the rest (status, timestamps, totals) belong to the server. */
const WRITABLE: Record<FakturoidResource, string[]> = {
  invoices: ["custom_id", "number", "variable_symbol", "subject_id", "issued_on", "taxable_fulfillment_due", "due", "due_on", "currency", "note", "lines"],
  expenses: ["custom_id", "number", "original_number", "variable_symbol", "subject_id", "issued_on", "received_on", "due_on", "currency", "lines"],
  subjects: ["custom_id", "type", "name", "street", "city", "zip", "country", "registration_no", "vat_no", "email"],
  inventory_items: ["name", "sku", "article_number_type", "article_number", "unit_name", "track_quantity", "min_quantity", "max_quantity", "allow_below_zero", "native_purchase_price", "native_retail_price", "vat_rate", "private_note"],
  inventory_moves: ["direction", "quantity_change", "moved_on", "purchase_price", "retail_price", "private_note"],
};
const DATE_FIELDS = new Set(["issued_on", "taxable_fulfillment_due", "due_on", "received_on", "moved_on", "paid_on"]);

type Errors = Record<string, string[]>;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function errorBody(status: number, error: string, description: string): FakeResponse {
  return { status, body: { error, error_description: description } };
}

const notFound = (): FakeResponse => errorBody(404, "not_found", "Record not found");

export async function startFakturoidFake(options: FakturoidFakeOptions = {}): Promise<FakturoidFake> {
  const slug = options.slug ?? "acme";
  const clientId = options.clientId ?? "cid";
  const clientSecret = options.clientSecret ?? "csecret";
  const ttlSeconds = options.tokenTtlSeconds ?? 7200;
  const now = options.now ?? Date.now;
  const quota = options.rateLimit?.quota ?? 400;
  const windowSeconds = options.rateLimit?.windowSeconds ?? 60;
  const rawPlus = options.rawPlusInQuery ?? "error";
  const strictUserAgent = options.strictUserAgent ?? true;

  let baseUrl = "http://127.0.0.1";
  const store = createFakturoidStore({ now, baseUrl: () => baseUrl, slug, order: options.listOrder ?? "updated_desc" });
  const tokens = new Map<string, number>();
  let issued = 0;
  let windowStart = Number.NEGATIVE_INFINITY;
  let remaining = quota;
  /** Set by `setRateLimitRemaining` between windows: the window the next request opens starts with this many left. */
  let pinnedRemaining: number | undefined;
  let month = "";
  let monthCount = 0;

  // ---- budgets -------------------------------------------------------------------------

  function rollWindow(): void {
    if (pinnedRemaining !== undefined) {
      windowStart = now();
      remaining = pinnedRemaining;
      pinnedRemaining = undefined;
    } else if (now() >= windowStart + windowSeconds * 1000) {
      windowStart = now();
      remaining = quota;
    }
  }

  function rateHeaders(): Record<string, string> {
    const reset = Math.max(0, Math.ceil((windowStart + windowSeconds * 1000 - now()) / 1000));
    return { "X-RateLimit-Policy": `default;q=${quota};w=${windowSeconds}`, "X-RateLimit": `default;r=${remaining};t=${reset}` };
  }

  function countMonthly(): void {
    const current = pragueDate(now()).slice(0, 7);
    if (current !== month) {
      month = current;
      monthCount = 0;
    }
  }

  // ---- request helpers -----------------------------------------------------------------

  function header(request: FakeRequest, name: string): string {
    const value = request.headers[name];
    return (Array.isArray(value) ? value[0] : value) ?? "";
  }

  function userAgentOk(request: FakeRequest): boolean {
    const agent = header(request, "user-agent").trim();
    if (agent === "") return false;
    return !strictUserAgent || /\([^()]*@[^()]*\)/.test(agent);
  }

  function bearerError(request: FakeRequest): FakeResponse | undefined {
    const token = /^Bearer\s+(\S+)$/i.exec(header(request, "authorization").trim())?.[1];
    const expiresAt = token === undefined ? undefined : tokens.get(token);
    if (expiresAt !== undefined && expiresAt > now()) return undefined;
    const description = expiresAt === undefined ? "The access token is invalid" : "The access token expired";
    return { status: 401, headers: { "WWW-Authenticate": `Bearer error="invalid_token", error_description="${description}"` }, body: { error: "invalid_token", error_description: description } };
  }

  function mediaTypeError(request: FakeRequest): FakeResponse | undefined {
    const accept = header(request, "accept").toLowerCase();
    const acceptsJson = accept === "" || /application\/json|application\/\*|\*\/\*/.test(accept);
    const isWrite = request.method === "POST" || request.method === "PATCH" || request.method === "PUT";
    const sendsJson = header(request, "content-type").toLowerCase().startsWith("application/json");
    if (!acceptsJson || (isWrite && !sendsJson)) return errorBody(415, "unsupported_media_type", "Only application/json is supported");
    return undefined;
  }

  function jsonBody(request: FakeRequest): Record<string, unknown> | undefined {
    if (request.body.trim() === "") return {};
    try {
      const parsed: unknown = JSON.parse(request.body);
      return isObject(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  // ---- OAuth ---------------------------------------------------------------------------

  function issueToken(request: FakeRequest): FakeResponse {
    if (request.method !== "POST") return notFound();
    const basic = /^Basic\s+(\S+)$/i.exec(header(request, "authorization").trim())?.[1];
    const decoded = basic === undefined ? "" : Buffer.from(basic, "base64").toString("utf8");
    if (decoded !== `${clientId}:${clientSecret}`) return errorBody(401, "invalid_client", "Client authentication failed");
    let grantType: unknown;
    const contentType = header(request, "content-type").toLowerCase();
    if (contentType.startsWith("application/x-www-form-urlencoded")) {
      grantType = new URLSearchParams(request.body).get("grant_type") ?? undefined;
    } else {
      const body = jsonBody(request);
      if (!body) return errorBody(400, "invalid_request", "Malformed JSON body");
      grantType = body.grant_type;
    }
    if (grantType === undefined) return errorBody(400, "invalid_request", "Missing grant_type");
    if (grantType !== "client_credentials") return errorBody(400, "unsupported_grant_type", "Only client_credentials is supported");
    const token = randomBytes(24).toString("base64url");
    tokens.set(token, now() + ttlSeconds * 1000);
    issued += 1;
    return { status: 200, body: { access_token: token, token_type: "Bearer", expires_in: ttlSeconds } };
  }

  // ---- resources -----------------------------------------------------------------------

  function listFilters(resource: FakturoidResource, query: URLSearchParams): ListFilters | FakeResponse {
    const filters: ListFilters = { equals: [] };
    const keys: Record<DateFilter, Exclude<keyof ListFilters, "equals">> = { since: "since", until: "until", updated_since: "updatedSince", updated_until: "updatedUntil" };
    for (const name of FILTERS[resource].dates) {
      const raw = query.get(name);
      if (raw === null) continue;
      const ms = parseIsoDateTime(raw);
      if (ms === undefined) {
        if (rawPlus === "error") return errorBody(400, "invalid_request", `Invalid date-time in ${name}: ${raw}`);
        continue;
      }
      filters[keys[name]] = ms;
    }
    for (const name of FILTERS[resource].equals) {
      const raw = query.get(name);
      if (raw === null) continue;
      filters.equals.push([name, name === "document_type" && raw === "regular" ? "invoice" : raw]);
    }
    return filters;
  }

  /** Inventory items: archived ones only at `/inventory_items/archived.json`, never in the main list. */
  function listPage(resource: FakturoidResource, query: URLSearchParams, archived = false): FakeResponse {
    const filters = listFilters(resource, query);
    if (!("equals" in filters)) return filters;
    const page = Math.max(1, Math.trunc(Number(query.get("page") ?? "1")) || 1);
    const listed = store.list(resource, filters);
    const rows = resource === "inventory_items" ? listed.filter((row) => (row.archived === true) === archived) : listed;
    const size = options.pageSize ?? PAGE_SIZE;
    return { status: 200, body: rows.slice((page - 1) * size, page * size) };
  }

  /** Validates and converts an HTTP write body into store fields, or answers 422. */
  function writeFields(resource: FakturoidResource, body: Record<string, unknown>, isCreate: boolean): { fields: FakturoidRecord } | { errors: Errors } {
    const errors: Errors = {};
    const add = (field: string, message: string): void => {
      (errors[field] ??= []).push(message);
    };
    const fields: FakturoidRecord = {};
    for (const key of WRITABLE[resource]) if (body[key] !== undefined) fields[key] = body[key];
    for (const [key, value] of Object.entries(fields)) {
      if (DATE_FIELDS.has(key) && value !== null && !(typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value))) add(key, "is not a valid date");
      if (MONEY_FIELDS.has(key) && value !== null && parseCents(value) === undefined) add(key, "is not a number");
    }
    const required = (field: string): void => {
      if (isCreate && (fields[field] === undefined || fields[field] === null || fields[field] === "")) add(field, "can't be blank");
    };
    if (resource === "invoices" || resource === "expenses") {
      required("subject_id");
      if (fields.subject_id !== undefined && fields.subject_id !== null && !store.get("subjects", Number(fields.subject_id))) add("subject_id", "does not exist");
      if (fields.lines !== undefined) {
        const totals = lineTotals(fields.lines);
        if (!totals) add("lines", "is invalid");
        else Object.assign(fields, { lines: totals.lines, subtotal: totals.subtotal, total: totals.total, native_subtotal: totals.subtotal, native_total: totals.total });
      }
    }
    if (resource === "subjects" || resource === "inventory_items") {
      required("name");
      if (fields.name === "" || fields.name === null) add("name", "can't be blank");
    }
    if (resource === "inventory_moves") {
      required("direction");
      required("quantity_change");
      required("moved_on");
      if (fields.direction !== undefined && fields.direction !== "in" && fields.direction !== "out") add("direction", "is not included in the list");
      if (fields.quantity_change !== undefined && !((parseCents(fields.quantity_change) ?? 0) > 0)) add("quantity_change", "must be greater than 0");
      else if (fields.quantity_change !== undefined) fields.quantity_change = formatMoney(parseCents(fields.quantity_change) ?? 0);
    }
    return Object.keys(errors).length > 0 ? { errors } : { fields };
  }

  function lineTotals(lines: unknown): { lines: FakturoidRecord[]; subtotal: string; total: string } | undefined {
    if (!Array.isArray(lines)) return undefined;
    let subtotal = 0;
    let total = 0;
    const out: FakturoidRecord[] = [];
    for (const [index, line] of lines.entries()) {
      if (!isObject(line) || typeof line.name !== "string") return undefined;
      const quantity = Number(line.quantity ?? 1);
      const price = parseCents(line.unit_price ?? "0");
      const vat = Number(line.vat_rate ?? 0);
      if (!Number.isFinite(quantity) || price === undefined || !Number.isFinite(vat)) return undefined;
      subtotal += Math.round(quantity * price);
      total += Math.round(quantity * price * (1 + vat / 100));
      out.push({ id: index + 1, name: line.name, quantity: String(quantity.toFixed(1)), unit_name: String(line.unit_name ?? ""), unit_price: formatMoney(price), vat_rate: vat });
    }
    return { lines: out, subtotal: formatMoney(subtotal), total: formatMoney(total) };
  }

  function create(resource: FakturoidResource, request: FakeRequest, extra: FakturoidRecord = {}): FakeResponse {
    const body = jsonBody(request);
    if (!body) return errorBody(400, "invalid_request", "Malformed JSON body");
    const result = writeFields(resource, body, true);
    if ("errors" in result) return { status: 422, body: { errors: result.errors } };
    return { status: 201, body: store.insert(resource, { ...result.fields, ...extra }) };
  }

  function update(resource: FakturoidResource, id: number, request: FakeRequest): FakeResponse {
    const record = store.get(resource, id);
    if (!record) return notFound();
    if (record.locked_at) return errorBody(403, "document_locked", "Document is locked");
    const body = jsonBody(request);
    if (!body) return errorBody(400, "invalid_request", "Malformed JSON body");
    const result = writeFields(resource, body, false);
    if ("errors" in result) return { status: 422, body: { errors: result.errors } };
    return { status: 200, body: store.modify(resource, id, result.fields) };
  }

  /** Trashed invoices and expenses, by resource and id, as they were deleted (trash mode). */
  const trashed = new Map<string, FakturoidRecord>();
  const trash = (resource: FakturoidResource, id: number, record: FakturoidRecord | undefined): void => {
    if (options.trash && record && (resource === "invoices" || resource === "expenses")) trashed.set(`${resource}/${id}`, record);
  };

  function destroy(resource: FakturoidResource, id: number): FakeResponse {
    try {
      const record = clone(store.get(resource, id));
      if (!store.erase(resource, id, { force: false })) return notFound();
      trash(resource, id, record);
      return { status: 204 };
    } catch (error) {
      if (error instanceof LockedError) return { status: 422, body: { errors: { document: [error.message] } } };
      throw error;
    }
  }

  function payment(resource: "invoices" | "expenses", id: number, request: FakeRequest): FakeResponse {
    if (!store.get(resource, id)) return notFound();
    const body = jsonBody(request);
    if (!body) return errorBody(400, "invalid_request", "Malformed JSON body");
    const errors: Errors = {};
    if (body.amount !== undefined && !((parseCents(body.amount) ?? 0) > 0)) errors.amount = ["is not a number"];
    if (body.paid_on !== undefined && !(typeof body.paid_on === "string" && /^\d{4}-\d{2}-\d{2}$/.test(body.paid_on))) errors.paid_on = ["is not a valid date"];
    if (Object.keys(errors).length > 0) return { status: 422, body: { errors } };
    const amount = body.amount === undefined ? undefined : String(body.amount);
    const paidOn = typeof body.paid_on === "string" ? body.paid_on : undefined;
    return { status: 201, body: store.addPayment(resource, id, amount, paidOn) };
  }

  function accountRoute(request: FakeRequest, segments: string[]): FakeResponse {
    const { method } = request;
    const numeric = (value: string | undefined): number | undefined => (value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined);
    const [first = "", second, third, fourth] = segments;
    if (!isFakturoidResource(first)) return notFound();
    const resource = first;
    if (segments.length === 1) {
      if (method === "GET") return listPage(resource, request.query);
      if (method === "POST" && resource !== "inventory_moves") return create(resource, request);
      return notFound();
    }
    if (resource === "inventory_items" && second === "archived" && segments.length === 2) return method === "GET" ? listPage(resource, request.query, true) : notFound();
    const id = numeric(second);
    if (id === undefined) return notFound();
    if (segments.length === 2 && resource !== "inventory_moves") {
      if (method === "GET") {
        const found = store.get(resource, id) ?? trashed.get(`${resource}/${id}`);
        return found ? { status: 200, body: found } : notFound();
      }
      if (method === "PATCH" || method === "PUT") return update(resource, id, request);
      if (method === "DELETE") return destroy(resource, id);
      return notFound();
    }
    if (resource === "inventory_items" && third === "inventory_moves") {
      if (!store.get("inventory_items", id)) return notFound();
      if (segments.length === 3) return method === "POST" ? create("inventory_moves", request, { inventory_item_id: id }) : notFound();
      const moveId = numeric(fourth);
      const move = moveId === undefined ? undefined : store.get("inventory_moves", moveId);
      if (segments.length !== 4 || moveId === undefined || !move || move.inventory_item_id !== id) return notFound();
      if (method === "GET") return { status: 200, body: move };
      if (method === "PATCH" || method === "PUT") return update("inventory_moves", moveId, request);
      if (method === "DELETE") return destroy("inventory_moves", moveId);
      return notFound();
    }
    if ((resource === "invoices" || resource === "expenses") && third === "payments") {
      if (segments.length === 3 && method === "POST") return payment(resource, id, request);
      const paymentId = numeric(fourth);
      if (segments.length === 4 && method === "DELETE" && paymentId !== undefined) {
        return store.removePayment(resource, id, paymentId) ? { status: 204 } : notFound();
      }
    }
    return notFound();
  }

  function route(request: FakeRequest): FakeResponse {
    if (request.path === "/api/v3/oauth/token") return issueToken(request);
    if (!request.path.startsWith("/api/v3/")) return notFound();
    const unauthorized = bearerError(request);
    if (unauthorized) return unauthorized;
    const badMedia = mediaTypeError(request);
    if (badMedia) return badMedia;
    if (request.path === "/api/v3/user.json" && request.method === "GET") {
      return { status: 200, body: { id: 1, full_name: "Fake User", email: "user@example.cz", accounts: [{ slug, name: "Fake account", url: `${baseUrl}/api/v3/accounts/${slug}/account.json` }] } };
    }
    const match = /^\/api\/v3\/accounts\/([^/]+)\/(.+)\.json$/.exec(request.path);
    if (!match || match[1] !== slug) return notFound();
    return accountRoute(request, (match[2] ?? "").split("/"));
  }

  function handle(request: FakeRequest): FakeResponse {
    countMonthly();
    monthCount += 1;
    rollWindow();
    let response: FakeResponse;
    if (!userAgentOk(request)) {
      response = errorBody(400, "invalid_request", "User-Agent header must be set to 'AppName (contact@email)'");
    } else if (remaining <= 0) {
      response = errorBody(429, "too_many_requests", "Rate limit exceeded");
    } else {
      remaining -= 1;
      response = route(request);
    }
    return { ...response, headers: { ...response.headers, ...rateHeaders() } };
  }

  const server = await startFakeServer(handle, { port: options.port });
  baseUrl = server.url;

  const mustGet = (resource: FakturoidResource, id: number): FakturoidRecord => {
    const record = store.get(resource, id);
    if (!record) throw new Error(`fakturoid fake: no ${resource} ${id}`);
    return record;
  };

  return Object.assign(server, {
    monthlyQuota: options.monthlyQuota,
    create(resource: FakturoidResource, fields: Record<string, unknown> = {}): FakturoidRecord {
      return clone(store.insert(resource, fields));
    },
    /** Merges `patch`; status cancelled/uncollectible/sent stamps its *_at, status paid records a full payment, locked_at: true locks now. */
    update(resource: FakturoidResource, id: number, patch: Record<string, unknown>): FakturoidRecord {
      mustGet(resource, id);
      return clone(store.modify(resource, id, patch) as FakturoidRecord);
    },
    /** Deletes (invoices/expenses: to the trash) even when locked. */
    remove(resource: FakturoidResource, id: number): void {
      mustGet(resource, id);
      const record = clone(store.get(resource, id));
      store.erase(resource, id, { force: true });
      trash(resource, id, record);
    },
    addPayment(resource: "invoices" | "expenses", id: number, amount?: string): FakturoidRecord {
      mustGet(resource, id);
      return clone(store.addPayment(resource, id, amount) as FakturoidRecord);
    },
    get(resource: FakturoidResource, id: number): FakturoidRecord | undefined {
      const record = store.get(resource, id);
      return record ? clone(record) : undefined;
    },
    all(resource: FakturoidResource): FakturoidRecord[] {
      return store.all(resource).map(clone);
    },
    seed(resource: FakturoidResource, count: number): void {
      store.seed(resource, count);
    },
    expireTokens(): void {
      for (const token of tokens.keys()) tokens.set(token, Number.NEGATIVE_INFINITY);
    },
    tokensIssued(): number {
      return issued;
    },
    monthlyCount(): number {
      countMonthly();
      return monthCount;
    },
    setRateLimitRemaining(n: number): void {
      const left = Math.max(0, Math.min(quota, n));
      // Within a window its count changes now; between windows the next request opens one with
      // this count (a test that starts a CLI process then does not race the window's end).
      if (now() < windowStart + windowSeconds * 1000) remaining = left;
      else pinnedRemaining = left;
    },
  });
}
