import { isInvoiceResource } from "../../../core/naming.js";
import type { Transition } from "../../../core/transitions.js";
import { SourceError } from "../../errors.js";
import type { SourceDeps } from "../../deps.js";
import { httpSource, type Source } from "../../source.js";
import { facturascriptsSource, RESOURCES, SECRET_KEYS, type FacturaScriptsSourceConfig } from "./config.js";
import { definePreset, resourcePart } from "../spec.js";
import { FacturaScriptsPoller, FsSourceGate, type FsTable } from "./poller.js";

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
  clients: [{ table: "clientes", pk: "codcliente", stringKey: true, since: "fechaalta" }],
  products: [{ table: "productos", pk: "idproducto", since: "actualizado" }],
};


/**
 * Requests of one idle incremental pass: per table, new rows (a `since` table with serial keys:
 * rows saved since its day, and new keys), plus its audit log and payments feeds.
 */
export function facturaScriptsIdlePassCost(config: Pick<FacturaScriptsSourceConfig, "resources">): number {
  return config.resources.reduce((sum, resource) => sum + (TABLES[resource.name] ?? []).reduce((n, t) => n + 1 + (t.since && !t.stringKey ? 1 : 0) + (t.model ? 1 : 0) + (t.payments ? 1 : 0), 0), 0);
}

const PAID: Transition[] = [{ event: "paid", anyOf: [{ field: "pagada", to: true }] }];

/** `https://erp.example/` or `…/api/3` → `https://erp.example/api/3`. */
export function facturaScriptsApiRoot(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "").replace(/\/api\/3$/, "")}/api/3`;
}

/** The IP ban: five 401/403 within ten minutes block every request for up to ten minutes. */
const BAN_MS = 10 * 60_000;

export function createFacturaScriptsSource(config: FacturaScriptsSourceConfig, deps: SourceDeps): Source {
  const gate = new FsSourceGate(() => deps.clock.now(), config.reprobe);
  const http = deps.httpClient({
    baseUrl: facturaScriptsApiRoot(config.base_url),
    headers: { "X-Auth-Token": config.token },
    classifyStatus: (status, where, path) => {
      if (status === 429) {
        const untilMs = deps.clock.now() + BAN_MS;
        // The ban covers every request from this IP: the other resources of the pass send none.
        gate.banned(untilMs, "FacturaScripts has banned this IP (HTTP 429)");
        return new SourceError(`${where}: HTTP 429 — FacturaScripts has banned this IP after repeated auth or permission failures; backing off 10 minutes`, "backoff", { status, path, untilMs });
      }
      return status === 409 ? new SourceError(`${where}: HTTP 409 — the API is disabled in this FacturaScripts installation`, "http", { status, path }) : undefined;
    },
  });
  return httpSource(
    config,
    http,
    (resource) => new FacturaScriptsPoller(http, resource, resourcePart(TABLES, resource.name, `source ${config.name}: facturascripts`), isInvoiceResource(resource.name) ? PAID : [], gate, config.timezone),
  );
}

/** The `preset: facturascripts` spec: config schema, resources, secret keys, idle-pass cost and the factory. */
export const facturascriptsPreset = definePreset({
  name: "facturascripts",
  schema: facturascriptsSource,
  resources: RESOURCES,
  secretKeys: SECRET_KEYS,
  idlePassCost: facturaScriptsIdlePassCost,
  create: createFacturaScriptsSource,
});
