import { startFakeServer, type FakeRequest, type FakeResponse, type FakeServer } from "../../../src/simulators/kit.js";
import { CORS_HEADERS, Gatekeeper, MESSAGES, type ApiKeyGrant } from "./gatekeeper.js";
import { pageRows, parseListQuery, sortRows, wherePredicate } from "./query.js";
import { blankRow } from "./records.js";
import { FS_TABLES, isFsTable, SCHEMAS, SQL_TYPES, type FsTable, type InvoiceTable } from "./schema.js";
import { FsDeleteRefusedError, FsNotFoundError, FsStore } from "./store.js";
import { FsSaveError, parseUtcOffset, type Row, type Value } from "./values.js";

export type { FsTable } from "./schema.js";
export type { ApiKeyGrant, ApiMethod } from "./gatekeeper.js";
export { FsDeleteRefusedError, FsDuplicateError, FsNotFoundError } from "./store.js";
export { FsSaveError } from "./values.js";

/**
 * A faithful FacturaScripts REST API double (see README, "Vendors"): `/api/3/...`
 * behind ApiController's gatekeeper (409/429/401/403/400 as `{"status":"error","message"}`),
 * APIModel resources (bare arrays + `X-Total-Count`, filters, sorts, limit/offset, form-encoded
 * writes answering `{"ok","data"}`, resource errors as `{"error"}` in Spanish), the
 * `pagarFacturaCliente`/`pagarFacturaProveedor` endpoints, and the `logmessages` audit feed.
 * 5xx/HTML and other transport faults come from the kit's `injectFault`. No webhook API exists.
 */

export interface FacturaScriptsFakeOptions {
  /** Loopback port; default 0 (a free one). */
  port?: number;
  /** The full-access key (the `api_key` constant); default "fs-token". */
  token?: string;
  /** Further ApiKey records: full access, or per-resource methods. Default none. */
  keys?: Record<string, ApiKeyGrant>;
  /**
   * Release to imitate; default "2026.6". 2026.6 answers a filter/sort on an unknown column with
   * 400 `api: fields not allowed: <f>`; 2025.81 swallows the SQL error: 200 `[]`, count 0.
   * 2024.96 swallows it too, and answers a detail GET of a missing record with 400
   * `record-not-found` (404 came in late 2024).
   */
  version?: "2026.6" | "2025.81" | "2024.96";
  /** Sort by primary key when no `sort` is given (master after 2026-08-05); default false = no defined order. */
  stableOrder?: boolean;
  /** Clock in epoch ms (dates, `actualizado`, log times, ban expiry); default Date.now. */
  now?: () => number;
  /** Switched off in settings with no `api_key` constant: every request gets 409. Default false. */
  apiDisabled?: boolean;
  /** The installation's UTC offset for rendered dates and times; default "+01:00". */
  utcOffset?: string;
  /** A fresh install: nine products (`CONTA*`) whose `actualizado` is empty, as the installer leaves them. Default false. */
  freshInstall?: boolean;
}

export interface FacturaScriptsFake extends FakeServer {
  readonly token: string;
  create(table: FsTable, fields?: Record<string, unknown>): Record<string, unknown>;
  /** A product written behind FacturaScripts' back (the installer, an import): `actualizado` stays empty. */
  importProduct(fields?: Record<string, unknown>): Record<string, unknown>;
  /** Logs an audit entry for invoices and delivery notes when something changed. */
  update(table: FsTable, id: number | string, patch: Record<string, unknown>): Record<string, unknown>;
  /** Cascades the receipts and payments of an invoice; refuses `editable: false` documents. */
  remove(table: FsTable, id: number | string): void;
  /** Like `pagarFacturaCliente` with `pagada=1`: receipts paid, payment rows added, `pagada` recomputed. */
  payInvoice(table: "facturaclientes" | "facturaproveedores", id: number): void;
  /** `pagada=0`: receipts unpaid, negative payment rows added. */
  unpayInvoice(table: "facturaclientes" | "facturaproveedores", id: number): void;
  get(table: FsTable, id: number | string): Record<string, unknown> | undefined;
  /** Every row in primary-key order. */
  all(table: FsTable): Record<string, unknown>[];
  /** Bulk insert of sample rows (invoices get receipts; every third one is paid); no log entries. */
  seed(table: FsTable, count: number): void;
  /** Ban incidents of 127.0.0.1 younger than 600 s. */
  incidents(): number;
  setApiDisabled(disabled: boolean): void;
  /** Replaces what an ApiKey may do (as an admin editing it in the panel would). */
  setGrant(token: string, grant: ApiKeyGrant): void;
}

const TRANSLATED = {
  notFound: "Registro no encontrado",
  updated: "Registro actualizado correctamente.",
  deleted: "Registro eliminado correctamente!",
  deleteError: "Error al eliminar el registro",
  duplicate: "Registro duplicado",
  noData: "Ningún dato recibido por formulario",
  saveError: "Ha ocurrido un error mientras se guardaban los datos",
};
/** Custom resources the fake implements (the real list is longer). */
const PAY_RESOURCES: Record<string, InvoiceTable> = { pagarFacturaCliente: "facturaclientes", pagarFacturaProveedor: "facturaproveedores" };
const JSON_HEADERS = { ...CORS_HEADERS, "content-type": "application/json" };

function ok(body: unknown, headers: Record<string, string> = {}): FakeResponse {
  return { status: 200, headers: { ...JSON_HEADERS, ...headers }, body };
}

function resourceError(status: number, error: string, data?: unknown): FakeResponse {
  return { status, headers: JSON_HEADERS, body: data === undefined ? { error } : { error, data } };
}

/** The POST/PUT form fields; PHP reads nothing from a JSON body. */
function formValues(request: FakeRequest): Map<string, string> {
  const type = String(request.headers["content-type"] ?? "");
  if (!type.includes("application/x-www-form-urlencoded")) return new Map();
  return new Map(new URLSearchParams(request.body));
}

function phpBool(value: string | undefined): boolean {
  return ["1", "true", "on", "yes"].includes((value ?? "").trim().toLowerCase());
}

export async function startFacturaScriptsFake(options: FacturaScriptsFakeOptions = {}): Promise<FacturaScriptsFake> {
  const token = options.token ?? "fs-token";
  const now = options.now ?? Date.now;
  const version = options.version ?? "2026.6";
  const stable = options.stableOrder ?? false;
  let disabled = options.apiDisabled ?? false;
  const store = new FsStore({ now, offsetMinutes: parseUtcOffset(options.utcOffset ?? "+01:00") });
  const keys: Record<string, ApiKeyGrant> = { ...options.keys, [token]: { fullaccess: true } };
  const gate = new Gatekeeper({ keys, now, disabled: () => disabled });

  if (options.freshInstall) {
    for (let i = 1; i <= 9; i += 1) {
      const row = store.insert("productos", { referencia: `CONTA${i}`, descripcion: `Producto contable ${i}` });
      row.actualizado = null;
    }
  }
  const render = (table: FsTable, row: Row): Record<string, Value> => store.render(table, row);

  function list(table: FsTable, query: URLSearchParams): FakeResponse {
    const schema = SCHEMAS[table];
    const parsed = parseListQuery(schema, query);
    if (parsed.unknownFields.length > 0) {
      if (version === "2026.6") return resourceError(400, `api: fields not allowed: ${parsed.unknownFields.join(", ")}`);
      return ok([], { "x-total-count": "0" });
    }
    const data = store.tables[table];
    const rows = data.view(`q:${JSON.stringify([parsed.clauses, parsed.sort, stable])}`, () => {
      const where = wherePredicate(schema, parsed.clauses);
      const base = data.baseOrder(stable);
      return sortRows(schema, where ? base.filter(where) : [...base], parsed.sort);
    });
    return ok(pageRows(rows, parsed.limit, parsed.offset).map((row) => render(table, row)), { "x-total-count": String(rows.length) });
  }

  function schemaOf(table: FsTable): FakeResponse {
    const defaults = blankRow(table);
    const body: Record<string, unknown> = {};
    for (const [column, type] of Object.entries(SCHEMAS[table].columns)) {
      body[column] = { type: SQL_TYPES[type], default: defaults[column] ?? null, is_nullable: column === SCHEMAS[table].primaryKey ? "NO" : "YES" };
    }
    return ok(body);
  }

  function write(run: () => FakeResponse): FakeResponse {
    try {
      return run();
    } catch (error) {
      if (error instanceof FsSaveError) return resourceError(400, `${TRANSLATED.saveError} - ${error.message}`);
      if (error instanceof FsNotFoundError) return resourceError(404, TRANSLATED.notFound);
      throw error;
    }
  }

  /** APIModel: list, schema, detail, create, update, delete. */
  function model(table: FsTable, request: FakeRequest, params: string[]): FakeResponse {
    const schema = SCHEMAS[table];
    const param0 = params[0] ?? "";
    const context = { uri: request.path };
    switch (request.method) {
      case "GET": {
        if (param0 === "") return list(table, request.query);
        if (param0 === "schema") return schemaOf(table);
        const row = store.get(table, param0);
        if (!row && version === "2024.96") return resourceError(400, "record-not-found");
        return row ? ok(render(table, row)) : resourceError(404, TRANSLATED.notFound);
      }
      case "POST": {
        const values = formValues(request);
        const existing = store.get(table, values.get(schema.primaryKey) ?? param0);
        if (existing) return resourceError(400, TRANSLATED.duplicate, render(table, existing));
        if (values.size === 0) return resourceError(400, TRANSLATED.noData);
        return write(() => ok({ ok: TRANSLATED.updated, data: render(table, store.insert(table, Object.fromEntries(values))) }));
      }
      case "PUT":
      case "PATCH": {
        const values = formValues(request);
        const row = store.get(table, values.get(schema.primaryKey) ?? param0);
        if (!row) return resourceError(404, TRANSLATED.notFound);
        if (values.size === 0) return resourceError(400, TRANSLATED.noData);
        return write(() => ok({ ok: TRANSLATED.updated, data: render(table, store.update(table, row[schema.primaryKey], Object.fromEntries(values), context)) }));
      }
      case "DELETE": {
        const row = store.get(table, param0);
        if (!row) return resourceError(404, TRANSLATED.notFound);
        try {
          return ok({ ok: TRANSLATED.deleted, data: render(table, store.remove(table, param0, context)) });
        } catch (error) {
          if (error instanceof FsDeleteRefusedError) return resourceError(400, TRANSLATED.deleteError);
          throw error;
        }
      }
      default:
        return resourceError(400, `Unknown method ${request.method} in ${schema.model}`);
    }
  }

  /** ApiPagarFacturaCliente / ApiPagarFacturaProveedor. */
  function pay(table: InvoiceTable, request: FakeRequest, id: string): FakeResponse {
    if (request.method !== "POST" && request.method !== "PUT") return { status: 405, headers: JSON_HEADERS, body: { status: "error", message: "method-not-allowed" } };
    const values = formValues(request);
    if (!values.has("pagada")) return { status: 400, headers: JSON_HEADERS, body: { status: "error", message: "missing-pagada-parameter" } };
    const invoice = store.get(table, id);
    if (!invoice) return { status: 404, headers: JSON_HEADERS, body: { status: "error", message: TRANSLATED.notFound } };
    const key = invoice.idfactura as number;
    return write(() => {
      const changed = store.payInvoice(table, key, phpBool(values.get("pagada")), { fechapago: values.get("fechapago"), codpago: values.get("codpago") });
      return ok({ ok: changed ? TRANSLATED.updated : "no-changes", data: render(table, store.get(table, key) ?? invoice) });
    });
  }

  function handle(request: FakeRequest): FakeResponse {
    if (request.path !== "/api" && !request.path.startsWith("/api/")) {
      return { status: 404, headers: { "content-type": "text/html; charset=utf-8" }, body: "<!DOCTYPE html><html><body><h1>Página no encontrada</h1></body></html>" };
    }
    const segments = request.path.slice(1).split("/");
    const refusal = gate.check(request, segments);
    if (refusal) return refusal;
    const resource = segments[2] ?? "";
    const params: string[] = [];
    for (let i = 3; i < segments.length && segments[i] !== ""; i++) params.push(segments[i] as string);
    if (resource === "") return ok({ resources: [...Object.keys(PAY_RESOURCES), ...FS_TABLES].sort() });
    const payTable = PAY_RESOURCES[resource];
    if (payTable) return pay(payTable, request, params[0] ?? "");
    if (isFsTable(resource)) return model(resource, request, params);
    return { status: 404, body: { status: "error", message: MESSAGES.invalidResource } };
  }

  const server = await startFakeServer(handle, { port: options.port });
  const rendered = (table: FsTable, row: Row | undefined): Record<string, unknown> | undefined => (row ? render(table, row) : undefined);
  return Object.assign(server, {
    token,
    create: (table: FsTable, fields: Record<string, unknown> = {}) => render(table, store.insert(table, fields)),
    importProduct: (fields: Record<string, unknown> = {}) => {
      const row = store.insert("productos", fields);
      row.actualizado = null;
      return render("productos", row);
    },
    update: (table: FsTable, id: number | string, patch: Record<string, unknown>) => render(table, store.update(table, id, patch)),
    remove: (table: FsTable, id: number | string) => {
      store.remove(table, id);
    },
    payInvoice: (table: InvoiceTable, id: number) => {
      store.payInvoice(table, id, true);
    },
    unpayInvoice: (table: InvoiceTable, id: number) => {
      store.payInvoice(table, id, false);
    },
    get: (table: FsTable, id: number | string) => rendered(table, store.get(table, id)),
    all: (table: FsTable) => store.tables[table].baseOrder(true).map((row) => render(table, row)),
    seed: (table: FsTable, count: number) => store.seed(table, count),
    incidents: () => gate.incidents(),
    setApiDisabled: (value: boolean) => {
      disabled = value;
    },
    setGrant: (key: string, grant: ApiKeyGrant) => {
      keys[key] = grant;
    },
  });
}
