import { startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from "../../../src/simulators/kit.js";
import { warsawDateTime } from "./local-time.js";
import { QueryError, parseFields, project, selectRows, type FieldContext } from "./query.js";
import {
  MODULES,
  MODULE_NAMES,
  formatCents,
  isWfirmaModule,
  parseCents,
  settle,
  templateRecord,
  toWireRecord,
  type WfirmaModule,
  type WfirmaRecord,
} from "./records.js";
import { parseXml, renderXml } from "./xml.js";

export type { WfirmaModule, WfirmaRecord, WfirmaValue } from "./records.js";

/**
 * A faithful wFirma API v2 double (see docs/vendors/wfirma.md): `/{module}/{action}[/{id}]`,
 * errors in the body with HTTP 200, numbered-object JSON with string scalars, SQL-like `find`.
 * Real 429/5xx/HTML replies come from the kit's `injectFault`. Webhooks are not emitted.
 *
 * Warehouse documents: each `warehouse_document_*` module is its own endpoint group and id
 * space of records, but requests and responses use the shared branch `warehouse_documents` →
 * `warehouse_document` (what the doc, python-wfirma and captured payloads show). A find body
 * keyed by the module name is an unknown branch and its parameters are ignored.
 */

export interface WfirmaFakeOptions {
  /** Loopback port; default 0 (a free one). */
  port?: number;
  /** Expected `accessKey` header; default "ak". */
  accessKey?: string;
  /** Expected `secretKey` header; default "sk". */
  secretKey?: string;
  /** Expected `appKey` header; default "app". */
  appKey?: string;
  /** Accepted `Authorization: Bearer` token (only with query `oauth_version=2`); default none. */
  oauthToken?: string;
  /** Company ids of the fake user; default ["1"]. With more than one, `company_id` is required. */
  companies?: string[];
  /** Clock in epoch ms; default Date.now. Timestamps render as Europe/Warsaw local time. */
  now?: () => number;
  /**
   * Whether a payment stamps `modified` of the invoice or expense it pays (default true).
   * wFirma does not say; false makes `payments/find` the only sign of the payment.
   */
  paymentsTouchDocuments?: boolean;
  /** Consecutive auth failures that start a 5-minute lockout; default 3. */
  authFailuresBeforeLimit?: number;
  /** Largest honoured `limit`; larger ones are clamped and echoed clamped. Default 100. */
  maxLimit?: number;
  /**
   * What a JSON `order` does (its JSON form is undocumented): "honoured" (default), "ignored"
   * (rows by id ascending), or "input-error" (status `INPUT ERROR` naming the order).
   */
  jsonOrder?: "honoured" | "ignored" | "input-error";
  /**
   * OAuth 2 refresh: `POST /oauth2/token?oauth_version=2`, form-encoded `grant_type=refresh_token`,
   * `refresh_token`, `client_id`, `client_secret` → `{access_token, token_type, expires_in,
   * refresh_token}`. With `rotate` (default true) each refresh issues a new refresh token and the
   * one used is spent (400 `invalid_grant` afterwards). Access tokens expire after `accessTtlS`
   * (default 3600) by the fake's clock. Default: no OAuth application.
   */
  oauth?: { clientId: string; clientSecret: string; refreshToken: string; accessTtlS?: number; rotate?: boolean };
}

export interface WfirmaFake extends FakeServer {
  create(module: WfirmaModule, fields?: Record<string, unknown>): WfirmaRecord;
  update(module: WfirmaModule, id: string, patch: Record<string, unknown>): WfirmaRecord;
  remove(module: WfirmaModule, id: string): void;
  addPayment(objectName: "invoice" | "expense", objectId: string, value: string): WfirmaRecord;
  get(module: WfirmaModule, id: string): WfirmaRecord | undefined;
  all(module: WfirmaModule): WfirmaRecord[];
  seed(module: WfirmaModule, count: number): void;
  setStatus(code: string | null, options?: { times?: number; module?: WfirmaModule }): void;
  setPolishNotFound(on: boolean): void;
  /** Token requests answered so far (any outcome). */
  oauthRequests(): number;
  /** The refresh token currently valid (what the last refresh issued). */
  currentRefreshToken(): string | undefined;
  /** Access tokens issued so far, oldest first. */
  issuedAccessTokens(): string[];
  /** Requests whose Bearer token was refused (answered AUTH). */
  refusedBearers(): number;
  /** The user revoked the application: the refresh token and every access token stop working. */
  revokeOAuth(): void;
  /** wFirma forgets every access token before its time (the refresh token still works). */
  dropAccessTokens(): void;
  /** The user authorizes the application again: a new refresh token (returned), the old one spent. */
  authorizeAgain(): string;
}

/** The localized not-found status the webit SDK maps to NOT FOUND. */
export const POLISH_NOT_FOUND = "Nie znaleziono obiektu. Wybrany zasób nie istnieje lub został usunięty.";

const AUTH_LOCK_MS = 5 * 60_000;
const DEFAULT_LIMIT = 20;
const ACTIONS = new Set(["find", "get", "add", "edit", "delete"]);
const DATE_FIELDS = new Set(["date", "paymentdate", "payment_date"]);
const MONEY_FIELDS = ["total", "netto", "brutto", "tax", "alreadypaid", "value"];
/** HTTP writes cannot set these; the server owns them. */
const SERVER_FIELDS = ["id", "created", "modified"];

type Envelope = Record<string, unknown>;
interface ForcedStatus {
  code: string;
  times: number;
  module?: WfirmaModule;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function relationModule(relation: string): WfirmaModule | undefined {
  const plural = `${relation}s`;
  if (isWfirmaModule(plural)) return plural;
  return relation === "good" ? "goods" : undefined;
}

export async function startWfirmaFake(options: WfirmaFakeOptions = {}): Promise<WfirmaFake> {
  const accessKey = options.accessKey ?? "ak";
  const secretKey = options.secretKey ?? "sk";
  const appKey = options.appKey ?? "app";
  const companies = options.companies ?? ["1"];
  const now = options.now ?? Date.now;
  const failuresBeforeLimit = options.authFailuresBeforeLimit ?? 3;
  const maxLimit = options.maxLimit ?? 100;

  const tables = new Map<WfirmaModule, Map<string, WfirmaRecord>>();
  const knownFields = new Map<WfirmaModule, Set<string>>();
  const counters = new Map<WfirmaModule, number>();
  for (const module of MODULE_NAMES) {
    tables.set(module, new Map());
    knownFields.set(module, new Set(Object.keys(templateRecord(module, "0", 1, 0))));
    counters.set(module, 0);
  }
  /** Filtered+sorted views by module and query; any write may change any view, so all go. */
  const views = new Map<string, WfirmaRecord[]>();
  let nextId = 1;
  let forced: ForcedStatus[] = [];
  let polishNotFound = false;
  let authFailures = 0;
  let authLockedUntil = 0;
  let refreshToken = options.oauth?.refreshToken;
  let refreshCounter = 0;
  let oauthRequests = 0;
  let refusedBearers = 0;
  const accessTokens = new Map<string, number>();

  const table = (module: WfirmaModule): Map<string, WfirmaRecord> => tables.get(module) as Map<string, WfirmaRecord>;
  const stamp = (): string => warsawDateTime(now());
  const touched = (): void => views.clear();
  const learn = (module: WfirmaModule, record: WfirmaRecord): void => {
    const known = knownFields.get(module) as Set<string>;
    for (const key of Object.keys(record)) known.add(key);
  };

  function fieldContext(module: WfirmaModule): FieldContext {
    const known = knownFields.get(module) as Set<string>;
    return {
      models: MODULES[module].models,
      knows: (field) => known.has(field),
      related: (relation, id) => {
        const target = relationModule(relation);
        return target ? table(target).get(id) : undefined;
      },
    };
  }

  /** Moves `alreadypaid` of the paid document by the payment's value (sign -1 reverses). */
  function applyPayment(payment: WfirmaRecord, sign: 1 | -1): void {
    const module = payment.object_name === "invoice" ? "invoices" : payment.object_name === "expense" ? "expenses" : undefined;
    const objectId = payment.object_id;
    if (!module || typeof objectId !== "string") return;
    const target = table(module).get(objectId);
    if (!target) return;
    const paid = (parseCents(target.alreadypaid) ?? 0) + sign * (parseCents(payment.value) ?? 0);
    target.alreadypaid = formatCents(paid);
    settle(module, target);
    if (options.paymentsTouchDocuments !== false) target.modified = stamp();
  }

  function insert(module: WfirmaModule, fields: Record<string, unknown>): WfirmaRecord {
    const givenId = fields.id === undefined ? undefined : String(fields.id);
    if (givenId !== undefined && table(module).has(givenId)) throw new Error(`wfirma fake: ${module} ${givenId} exists`);
    const id = givenId ?? String(nextId++);
    if (Number(id) >= nextId) nextId = Number(id) + 1;
    const n = (counters.get(module) ?? 0) + 1;
    counters.set(module, n);
    const wire = toWireRecord(fields);
    const record: WfirmaRecord = { ...templateRecord(module, id, n, now()), ...wire, id };
    settle(module, record, new Set(Object.keys(wire)));
    table(module).set(id, record);
    learn(module, record);
    if (module === "payments") applyPayment(record, 1);
    touched();
    return record;
  }

  function modify(module: WfirmaModule, id: string, patch: Record<string, unknown>): WfirmaRecord | undefined {
    const record = table(module).get(id);
    if (!record) return undefined;
    if (module === "payments") applyPayment(record, -1);
    const wire = toWireRecord(patch);
    delete wire.id;
    Object.assign(record, wire);
    if (!("modified" in wire)) record.modified = stamp();
    settle(module, record, new Set(Object.keys(wire)));
    learn(module, record);
    if (module === "payments") applyPayment(record, 1);
    touched();
    return record;
  }

  function erase(module: WfirmaModule, id: string): WfirmaRecord | undefined {
    const record = table(module).get(id);
    if (!record) return undefined;
    table(module).delete(id);
    if (module === "payments") applyPayment(record, -1);
    touched();
    return record;
  }

  function validate(module: WfirmaModule, record: Record<string, unknown>, isAdd: boolean): Array<{ field: string; message: string; method: string }> {
    const errors: Array<{ field: string; message: string; method: string }> = [];
    for (const field of MONEY_FIELDS) {
      const value = record[field];
      if (value !== undefined && parseCents(value) === undefined) errors.push({ field, message: "Wartość musi być liczbą", method: "numeric" });
    }
    for (const field of DATE_FIELDS) {
      const value = record[field];
      if (value !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(value))) errors.push({ field, message: "Niepoprawna data", method: "date" });
    }
    if (module === "payments" && (isAdd || record.object_name !== undefined || record.object_id !== undefined)) {
      const name = String(record.object_name ?? "");
      const target = name === "invoice" ? "invoices" : name === "expense" ? "expenses" : undefined;
      if (!target) errors.push({ field: "object_name", message: "Niepoprawny typ obiektu", method: "inList" });
      else if (!table(target).has(String(record.object_id ?? ""))) errors.push({ field: "object_id", message: "Obiekt nie istnieje", method: "exists" });
    }
    if (module === "payments" && (isAdd || record.value !== undefined) && !((parseCents(record.value) ?? 0) > 0)) {
      if (!errors.some((e) => e.field === "value")) errors.push({ field: "value", message: "Kwota musi być większa od zera", method: "positive" });
    }
    return errors;
  }

  // ---- HTTP ----------------------------------------------------------------------------

  const status = (code: string, extra: Envelope = {}): Envelope => ({ ...extra, status: { code } });

  function wrap(module: WfirmaModule, records: WfirmaRecord[], parameters?: Record<string, string>): Envelope {
    const { branch, singular } = MODULES[module];
    const inner: Record<string, unknown> = {};
    records.forEach((record, index) => {
      inner[String(index)] = { [singular]: record };
    });
    if (parameters) inner.parameters = parameters;
    return { [branch]: inner };
  }

  function header(request: FakeRequest, name: string): string | undefined {
    const value = request.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }

  function authenticate(request: FakeRequest): boolean {
    const keys = [header(request, "accessKey"), header(request, "secretKey"), header(request, "appKey")];
    if (keys.some((key) => key !== undefined)) return keys[0] === accessKey && keys[1] === secretKey && keys[2] === appKey;
    const authorization = header(request, "authorization") ?? "";
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
    if (bearer === undefined || request.query.get("oauth_version") !== "2") return false;
    if (options.oauthToken !== undefined && bearer === options.oauthToken) return true;
    const ok = (accessTokens.get(bearer) ?? 0) > now();
    if (!ok) refusedBearers += 1;
    return ok;
  }

  /** `POST /oauth2/token`: the refresh grant only (the one a poller needs). */
  function token(request: FakeRequest): FakeResponse {
    oauthRequests += 1;
    const app = options.oauth;
    const form = new URLSearchParams(request.body);
    if (!app || request.method !== "POST" || request.query.get("oauth_version") !== "2") return { status: 400, body: { error: "invalid_request" } };
    if (form.get("client_id") !== app.clientId || form.get("client_secret") !== app.clientSecret) return { status: 401, body: { error: "invalid_client" } };
    if (form.get("grant_type") !== "refresh_token") return { status: 400, body: { error: "unsupported_grant_type" } };
    if (refreshToken === undefined || form.get("refresh_token") !== refreshToken) return { status: 400, body: { error: "invalid_grant", error_description: "Refresh token is invalid, expired or revoked" } };
    const ttl = app.accessTtlS ?? 3600;
    refreshCounter += 1;
    const access = `at-${refreshCounter}-${Math.random().toString(36).slice(2, 10)}`;
    accessTokens.set(access, now() + ttl * 1000);
    if (app.rotate !== false) refreshToken = `rt-${refreshCounter}-${Math.random().toString(36).slice(2, 10)}`;
    return { status: 200, body: { access_token: access, token_type: "Bearer", expires_in: ttl, refresh_token: refreshToken } };
  }

  function takeForced(module: string): string | undefined {
    const rule = forced.find((r) => r.times > 0 && (r.module === undefined || r.module === module));
    if (!rule) return undefined;
    rule.times -= 1;
    forced = forced.filter((r) => r.times > 0);
    return rule.code;
  }

  function parseBody(request: FakeRequest, inputFormat: string): Record<string, unknown> | undefined {
    const text = request.body.trim();
    if (text === "") return {};
    try {
      const parsed: unknown = inputFormat === "json" ? JSON.parse(text) : parseXml(text);
      return isObject(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records of a write body: `{branch: {"0": {singular: {…}}}}`, `{branch: {singular: …}}` or `{singular: …}`. */
  function writtenRecords(module: WfirmaModule, body: Record<string, unknown>): Array<Record<string, unknown>> {
    const { branch, singular } = MODULES[module];
    const container = body[branch] ?? { [singular]: body[singular] };
    if (!isObject(container)) return [];
    const out: Array<Record<string, unknown>> = [];
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (isObject(value)) out.push(value);
    };
    for (const [key, value] of Object.entries(container)) {
      if (/^\d+$/.test(key) && isObject(value)) collect(value[singular]);
      else if (key === singular) collect(value);
    }
    return out;
  }

  function find(module: WfirmaModule, body: Record<string, unknown>): Envelope {
    const container = body[MODULES[module].branch];
    const parameters = isObject(container) && isObject(container.parameters) ? container.parameters : {};
    const page = Math.max(1, Math.trunc(Number(parameters.page ?? 1)) || 1);
    const requested = Math.trunc(Number(parameters.limit ?? DEFAULT_LIMIT));
    const limit = Number.isFinite(requested) && requested >= 0 ? Math.min(requested, maxLimit) : DEFAULT_LIMIT;
    let rows: WfirmaRecord[];
    if (parameters.order !== undefined && options.jsonOrder === "input-error") return { status: { code: "INPUT ERROR", description: "Nieprawidłowy parametr order" } };
    if (options.jsonOrder === "ignored") delete parameters.order;
    try {
      const key = `${module}\u0000${JSON.stringify(parameters.conditions ?? null)}\u0000${JSON.stringify(parameters.order ?? null)}`;
      const cached = views.get(key);
      rows = cached ?? selectRows(table(module).values(), parameters.conditions, parameters.order, fieldContext(module));
      if (!cached) views.set(key, rows);
    } catch (error) {
      if (error instanceof QueryError) return { status: { code: "ERROR", description: error.message } };
      throw error;
    }
    const fields = parseFields(parameters.fields);
    const pageRows = limit === 0 ? [] : rows.slice((page - 1) * limit, page * limit).map((row) => project(row, fields));
    return status("OK", wrap(module, pageRows, { limit: String(limit), page: String(page), total: String(rows.length) }));
  }

  function write(module: WfirmaModule, action: "add" | "edit", id: string | undefined, body: Record<string, unknown>): Envelope {
    const records = writtenRecords(module, body);
    if (records.length === 0) return { status: { code: "INPUT ERROR", description: `Missing ${MODULES[module].singular}` } };
    const targetId = action === "add" ? undefined : (id ?? (records[0]?.id === undefined ? undefined : String(records[0].id)));
    if (action === "edit") {
      if (targetId === undefined || !table(module).has(targetId)) return notFound();
      records.splice(1);
    }
    const failures = records.map((record) => validate(module, record, action === "add"));
    if (failures.some((errors) => errors.length > 0)) {
      const echoed = records.map((record, index) => {
        const errors: Record<string, unknown> = {};
        (failures[index] ?? []).forEach((error, i) => (errors[String(i)] = { error }));
        return { ...toWireRecord(record), ...(Object.keys(errors).length ? { errors } : {}) } as WfirmaRecord;
      });
      return status("ERROR", wrap(module, echoed));
    }
    const written = records.map((record) => {
      const fields = { ...record };
      for (const field of SERVER_FIELDS) delete fields[field];
      return targetId === undefined ? insert(module, fields) : (modify(module, targetId, fields) as WfirmaRecord);
    });
    return status("OK", wrap(module, written));
  }

  function notFound(): Envelope {
    return { status: { code: polishNotFound ? POLISH_NOT_FOUND : "NOT FOUND" } };
  }

  function dispatch(request: FakeRequest): Envelope {
    const segments = request.path.split("/").filter((s) => s !== "");
    const [moduleName = "", action = "", id] = segments;
    const code = takeForced(moduleName);
    if (code) return { status: { code } };

    if (authLockedUntil > now()) return { status: { code: "AUTH FAILED LIMIT WAIT 5 MINUTES" } };
    if (!authenticate(request)) {
      authFailures += 1;
      if (authFailures >= failuresBeforeLimit) {
        authFailures = 0;
        authLockedUntil = now() + AUTH_LOCK_MS;
      }
      return { status: { code: "AUTH", description: "Niepoprawne dane autoryzacyjne" } };
    }
    authFailures = 0;

    const companyId = request.query.get("company_id");
    if (companyId === null && companies.length > 1) return { status: { code: "COMPANY ID REQUIRED" } };
    if (companyId !== null && !companies.includes(companyId)) return { status: { code: "ACCESS DENIED" } };

    if (!isWfirmaModule(moduleName) || !ACTIONS.has(action) || segments.length > 3) return { status: { code: "ACTION NOT FOUND" } };
    const module = moduleName;
    const inputFormat = (request.query.get("inputFormat") ?? "xml").toLowerCase();
    const body = parseBody(request, inputFormat);
    if (!body) return { status: { code: "INPUT ERROR", description: `Malformed ${inputFormat.toUpperCase()} input` } };

    switch (action) {
      case "find":
        return find(module, body);
      case "get": {
        const record = id === undefined ? undefined : table(module).get(id);
        return record ? status("OK", wrap(module, [record])) : notFound();
      }
      case "add":
        return write(module, "add", undefined, body);
      case "edit":
        return write(module, "edit", id, body);
      default: {
        const record = id === undefined ? undefined : erase(module, id);
        return record ? status("OK", wrap(module, [record])) : notFound();
      }
    }
  }

  function handle(request: FakeRequest): FakeResponse {
    if (request.path === "/oauth2/token") return token(request);
    const inputFormat = request.query.get("inputFormat");
    const outputFormat = (request.query.get("outputFormat") ?? inputFormat ?? "xml").toLowerCase();
    const envelope = dispatch(request);
    if (outputFormat === "json") return { status: 200, body: envelope };
    return { status: 200, headers: { "content-type": "application/xml; charset=utf-8" }, body: renderXml(envelope) };
  }

  const server = await startFakeServer(handle, { port: options.port });

  const mustGet = (module: WfirmaModule, id: string): WfirmaRecord => {
    const record = table(module).get(id);
    if (!record) throw new Error(`wfirma fake: no ${module} ${id}`);
    return record;
  };

  return Object.assign(server, {
    create(module: WfirmaModule, fields: Record<string, unknown> = {}): WfirmaRecord {
      return clone(insert(module, fields));
    },
    update(module: WfirmaModule, id: string, patch: Record<string, unknown>): WfirmaRecord {
      mustGet(module, id);
      return clone(modify(module, id, patch) as WfirmaRecord);
    },
    remove(module: WfirmaModule, id: string): void {
      mustGet(module, id);
      erase(module, id);
    },
    addPayment(objectName: "invoice" | "expense", objectId: string, value: string): WfirmaRecord {
      mustGet(objectName === "invoice" ? "invoices" : "expenses", objectId);
      return clone(insert("payments", { object_name: objectName, object_id: objectId, value }));
    },
    get(module: WfirmaModule, id: string): WfirmaRecord | undefined {
      const record = table(module).get(id);
      return record ? clone(record) : undefined;
    },
    all(module: WfirmaModule): WfirmaRecord[] {
      return [...table(module).values()].map(clone);
    },
    /** Adds `count` records created one second apart, the last one at now(). */
    seed(module: WfirmaModule, count: number): void {
      const end = now();
      const rows = table(module);
      let n = counters.get(module) ?? 0;
      for (let i = 0; i < count; i += 1) {
        n += 1;
        const id = String(nextId++);
        rows.set(id, templateRecord(module, id, n, end - (count - 1 - i) * 1000));
      }
      counters.set(module, n);
      touched();
    },
    /** Forces `code` as the body status of the next `times` requests (default: until cleared). */
    setStatus(code: string | null, opts: { times?: number; module?: WfirmaModule } = {}): void {
      if (code === null) {
        forced = opts.module === undefined ? [] : forced.filter((r) => r.module !== opts.module);
        return;
      }
      forced.push({ code, times: opts.times ?? Infinity, module: opts.module });
    },
    setPolishNotFound(on: boolean): void {
      polishNotFound = on;
    },
    oauthRequests: () => oauthRequests,
    currentRefreshToken: () => refreshToken,
    issuedAccessTokens: () => [...accessTokens.keys()],
    refusedBearers: () => refusedBearers,
    revokeOAuth(): void {
      refreshToken = undefined;
      accessTokens.clear();
    },
    dropAccessTokens(): void {
      accessTokens.clear();
    },
    authorizeAgain(): string {
      refreshToken = `rt-authorized-${Math.random().toString(36).slice(2, 10)}`;
      return refreshToken;
    },
  });
}
