import { warsawDate, warsawDateTime } from "./local-time.js";

/**
 * What the wFirma fake stores: records already in wire form (string scalars, numbered
 * objects for repeated branches, short `{"id": "…"}` references), one catalogue entry per
 * module, and the money arithmetic that keeps `alreadypaid`/`remaining`/`paymentstate` honest.
 */

export type WfirmaModule =
  | "invoices"
  | "expenses"
  | "payments"
  | "contractors"
  | "goods"
  | "warehouse_document_p_z"
  | "warehouse_document_w_z"
  | "warehouse_document_r_w"
  | "warehouse_document_p_w"
  | "warehouse_document_z_d"
  | "warehouse_document_z_p_d"
  | "warehouse_document_z_p_m"
  | "warehouse_document_r";

export type WfirmaValue = string | WfirmaRecord;
export interface WfirmaRecord {
  [field: string]: WfirmaValue;
}

export interface ModuleSpec {
  /** Top-level key of requests and responses. */
  branch: string;
  /** Key wrapping each record inside a numbered entry. */
  singular: string;
  /** Names a condition field may be prefixed with (`Invoice.modified`), lower-cased. */
  models: string[];
  /** Warehouse document type label (`PZ`, `WZ`, …). */
  docType?: string;
}

function warehouse(docType: string): ModuleSpec {
  return { branch: "warehouse_documents", singular: "warehouse_document", models: ["warehousedocument", "warehouse_document"], docType };
}

export const MODULES: Record<WfirmaModule, ModuleSpec> = {
  invoices: { branch: "invoices", singular: "invoice", models: ["invoice"] },
  expenses: { branch: "expenses", singular: "expense", models: ["expense"] },
  payments: { branch: "payments", singular: "payment", models: ["payment"] },
  contractors: { branch: "contractors", singular: "contractor", models: ["contractor"] },
  goods: { branch: "goods", singular: "good", models: ["good", "warehousegood", "warehouse_good"] },
  warehouse_document_p_z: warehouse("PZ"),
  warehouse_document_w_z: warehouse("WZ"),
  warehouse_document_r_w: warehouse("RW"),
  warehouse_document_p_w: warehouse("PW"),
  warehouse_document_z_d: warehouse("ZD"),
  warehouse_document_z_p_d: warehouse("ZPD"),
  warehouse_document_z_p_m: warehouse("ZPM"),
  warehouse_document_r: warehouse("R"),
};

export const MODULE_NAMES = Object.keys(MODULES) as WfirmaModule[];

export function isWfirmaModule(name: string): name is WfirmaModule {
  return Object.hasOwn(MODULES, name);
}

/** Fields rendered as money with two decimals when given as numbers or numeric strings. */
const MONEY_FIELDS = new Set(["total", "netto", "brutto", "tax", "alreadypaid", "remaining", "value", "price"]);
/** Singular names for nested line branches given as arrays. */
const LINE_SINGULARS: Record<string, string> = {
  invoicecontents: "invoicecontent",
  warehouse_document_contents: "warehouse_document_content",
};

export function parseCents(value: unknown): number | undefined {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim().replace(",", ".") : undefined;
  if (text === undefined || !/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  return Math.round(Number(text) * 100);
}

export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(Math.round(cents));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Converts caller-supplied values to wire form: strings, numbered objects, no nulls. */
export function toWire(value: unknown, key = ""): WfirmaValue {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number" || typeof value === "string") {
    const cents = MONEY_FIELDS.has(key) ? parseCents(value) : undefined;
    return cents === undefined ? String(value) : formatCents(cents);
  }
  if (Array.isArray(value)) {
    const singular = LINE_SINGULARS[key] ?? key.replace(/s$/, "");
    const out: WfirmaRecord = {};
    value.forEach((item, index) => {
      const wrapped = isPlainObject(item) && Object.keys(item).length === 1 && isPlainObject(item[singular]) ? item : { [singular]: item };
      out[String(index)] = toWire(wrapped, String(index));
    });
    return out;
  }
  if (isPlainObject(value)) {
    const out: WfirmaRecord = {};
    for (const [k, v] of Object.entries(value)) out[k] = toWire(v, k);
    return out;
  }
  return String(value);
}

export function toWireRecord(fields: Record<string, unknown>): WfirmaRecord {
  const out: WfirmaRecord = {};
  for (const [key, value] of Object.entries(fields)) out[key] = toWire(value, key);
  return out;
}

const DAY_MS = 86_400_000;

function amountFor(n: number): number {
  return 10_000 + ((n * 7919) % 90_000);
}

/** A plausible record for `module`, the `n`-th of its kind, created at `nowMs`. */
export function templateRecord(module: WfirmaModule, id: string, n: number, nowMs: number): WfirmaRecord {
  const stamp = warsawDateTime(nowMs);
  const date = warsawDate(nowMs);
  const year = date.slice(0, 4);
  const netto = amountFor(n);
  const brutto = Math.round(netto * 1.23);
  const times = { created: stamp, modified: stamp };
  switch (module) {
    case "invoices":
      return {
        id,
        type: "normal",
        number: String(n),
        fullnumber: `FV ${n}/${year}`,
        date,
        paymentdate: warsawDate(nowMs + 14 * DAY_MS),
        paymentmethod: "transfer",
        currency: "PLN",
        netto: formatCents(netto),
        tax: formatCents(brutto - netto),
        total: formatCents(brutto),
        alreadypaid: "0.00",
        remaining: formatCents(brutto),
        paymentstate: "unpaid",
        contractor: { id: "0" },
        invoicecontents: {
          "0": { invoicecontent: { name: `Usługa ${n}`, unit: "szt.", count: "1.0000", price: formatCents(netto), netto: formatCents(netto), brutto: formatCents(brutto) } },
        },
        ...times,
      };
    case "expenses":
      return {
        id,
        type: "invoice",
        number: String(n),
        fullnumber: `FZ/${n}/${year}`,
        date,
        payment_date: warsawDate(nowMs + 14 * DAY_MS),
        currency: "PLN",
        netto: formatCents(netto),
        tax: formatCents(brutto - netto),
        brutto: formatCents(brutto),
        alreadypaid: "0.00",
        remaining: formatCents(brutto),
        draft: "0",
        contractor: { id: "0" },
        ...times,
      };
    case "payments":
      return { id, object_name: "invoice", object_id: "0", value: formatCents(brutto), date, payment_method: "transfer", currency: "PLN", ...times };
    case "contractors":
      return {
        id,
        name: `Kontrahent ${n} sp. z o.o.`,
        altname: `Kontrahent ${n}`,
        nip: String(5_250_000_000 + n),
        street: `ul. Prosta ${n}`,
        zip: "00-001",
        city: "Warszawa",
        country: "PL",
        email: `kontrahent${n}@example.pl`,
        ...times,
      };
    case "goods":
      return {
        id,
        name: `Towar ${n}`,
        code: `T-${String(n).padStart(5, "0")}`,
        unit: "szt.",
        netto: formatCents(netto),
        brutto: formatCents(brutto),
        count: `${(n * 13) % 200}.0000`,
        ...times,
      };
    default: {
      const docType = MODULES[module].docType ?? "";
      return {
        id,
        type: docType,
        fullnumber: `${docType} ${n}/${year}`,
        date,
        netto: formatCents(netto),
        brutto: formatCents(brutto),
        currency: "PLN",
        contractor: { id: "0" },
        warehouse_document_contents: {
          "0": { warehouse_document_content: { name: `Towar ${n}`, unit_count: "1.0000", price: formatCents(netto), good: { id: "0" } } },
        },
        ...times,
      };
    }
  }
}

/** The field holding a document's gross amount. */
export function grossField(module: WfirmaModule): "total" | "brutto" | undefined {
  return module === "invoices" ? "total" : module === "expenses" ? "brutto" : undefined;
}

/**
 * Recomputes `remaining` (and `paymentstate` for invoices) from the gross amount and
 * `alreadypaid`, unless the caller pinned them explicitly in the same write.
 */
export function settle(module: WfirmaModule, record: WfirmaRecord, pinned: Set<string> = new Set()): void {
  const gross = grossField(module);
  if (!gross) return;
  const total = parseCents(record[gross]) ?? 0;
  const paid = parseCents(record.alreadypaid) ?? 0;
  const remaining = pinned.has("remaining") ? (parseCents(record.remaining) ?? total - paid) : total - paid;
  if (!pinned.has("remaining")) record.remaining = formatCents(Math.max(0, remaining));
  if (module === "invoices" && !pinned.has("paymentstate")) record.paymentstate = remaining <= 0 && total > 0 ? "paid" : "unpaid";
}
