import type { FacturaScriptsSourceConfig } from "../../../config/types.js";
import type { Transition } from "../../../core/transitions.js";
import { SourceError } from "../../errors.js";
import type { SourceDeps } from "../../registry.js";
import type { Source } from "../../source.js";
import { FacturaScriptsPoller, type FsTable } from "./poller.js";

/** Canonical resources → FacturaScripts tables (plural model names). */
const TABLES: Record<string, FsTable[]> = {
  invoices: [{ table: "facturaclientes", pk: "idfactura", model: "FacturaCliente", payments: { table: "pagoclientes", receipts: "reciboclientes" } }],
  cost_invoices: [{ table: "facturaproveedores", pk: "idfactura", model: "FacturaProveedor", payments: { table: "pagoproveedores", receipts: "reciboproveedores" } }],
  warehouse_documents: [
    { table: "albaranclientes", pk: "idalbaran", model: "AlbaranCliente" },
    { table: "albaranproveedores", pk: "idalbaran", model: "AlbaranProveedor" },
  ],
  payments: [
    { table: "pagoclientes", pk: "idpago" },
    { table: "pagoproveedores", pk: "idpago" },
  ],
  clients: [{ table: "clientes", pk: "codcliente", stringKey: true }],
  products: [{ table: "productos", pk: "idproducto" }],
};

export const FACTURASCRIPTS_RESOURCES = Object.keys(TABLES);

const PAID: Transition[] = [{ event: "paid", anyOf: [{ field: "pagada", to: true }] }];

/** `https://erp.example/` or `…/api/3` → `https://erp.example/api/3`. */
export function facturaScriptsApiRoot(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "").replace(/\/api\/3$/, "")}/api/3`;
}

/** The IP ban: five 401/403 within ten minutes block every request for up to ten minutes. */
const BAN_MS = 10 * 60_000;

export function createFacturaScriptsSource(config: FacturaScriptsSourceConfig, deps: SourceDeps): Source {
  const http = deps.httpClient({
    baseUrl: facturaScriptsApiRoot(config.base_url),
    headers: { "X-Auth-Token": config.token },
    classifyStatus: (status, where, path) =>
      status === 429
        ? new SourceError(`${where}: HTTP 429 — FacturaScripts has banned this IP after repeated auth or permission failures; backing off 10 minutes`, "backoff", { status, path, untilMs: deps.clock.now() + BAN_MS })
        : status === 409
          ? new SourceError(`${where}: HTTP 409 — the API is disabled in this FacturaScripts installation`, "http", { status, path })
          : undefined,
  });
  const pollers = config.resources.map(
    (resource) => new FacturaScriptsPoller(http, resource, TABLES[resource.name]!, resource.name === "invoices" || resource.name === "cost_invoices" ? PAID : []),
  );
  return { name: config.name, http, pollers, close: () => http.close() };
}
