import { addDays, isDate, MONEY_FIELDS, toNumber, type FakturowniaRecord } from "./records.js";
import type { FakeTable } from "./table.js";

/**
 * List semantics of the Fakturownia app lists: `period` (default `last_12_months`) on the date
 * `search_date_type` names, a few exact filters, `order=<field>[.desc]`, `page`/`per_page`.
 * Unknown parameters (including a hoped-for `updated_since`) are ignored, like the real app.
 */

export type ListResource = "invoices" | "cost_invoices" | "warehouse_documents" | "payments" | "clients" | "products";

export const DEFAULT_PER_PAGE = 25;
export const MAX_PER_PAGE = 100;

const DOCUMENT_ORDER = ["number", "updated_at", "created_at", "price_net", "price_gross", "price_tax", "issue_date", "payment_to", "paid_date", "transaction_date", "buyer_name", "buyer_tax_no", "seller_name", "oid", "id"];
const ORDER_FIELDS: Record<ListResource, ReadonlySet<string>> = {
  invoices: new Set(DOCUMENT_ORDER),
  cost_invoices: new Set(DOCUMENT_ORDER),
  warehouse_documents: new Set(["id", "number", "issue_date", "updated_at", "created_at", "kind"]),
  payments: new Set(["id", "name", "price", "paid_date", "updated_at", "created_at"]),
  clients: new Set(["id", "name", "tax_no", "city", "updated_at", "created_at"]),
  products: new Set(["id", "name", "code", "price_net", "price_gross", "updated_at", "created_at"]),
};
const SEARCH_DATE_TYPES = new Set(["issue_date", "paid_date", "transaction_date"]);

interface DateRange {
  field: string;
  from?: string;
  to?: string;
}

function monthStart(date: string): string {
  return `${date.slice(0, 7)}-01`;
}

function monthEnd(date: string): string {
  const [year, month] = [Number(date.slice(0, 4)), Number(date.slice(5, 7))];
  return new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);
}

function shiftMonths(date: string, months: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}

/** The date window of `period`; undefined for `period=all` and for resources without one. */
export function periodRange(resource: ListResource, params: URLSearchParams, today: string): DateRange | undefined {
  let field: string;
  if (resource === "invoices" || resource === "cost_invoices") {
    const type = params.get("search_date_type") ?? "issue_date";
    field = SEARCH_DATE_TYPES.has(type) ? type : "issue_date";
  } else if (resource === "warehouse_documents") field = "issue_date";
  else if (resource === "payments") field = "paid_date";
  else return undefined;

  const year = today.slice(0, 4);
  switch (params.get("period")) {
    case "all":
      return undefined;
    case "this_month":
      return { field, from: monthStart(today), to: monthEnd(today) };
    case "last_month": {
      const previous = shiftMonths(monthStart(today), -1);
      return { field, from: previous, to: monthEnd(previous) };
    }
    case "last_30_days":
      return { field, from: addDays(today, -30), to: today };
    case "this_year":
      return { field, from: `${year}-01-01`, to: `${year}-12-31` };
    case "last_year":
      return { field, from: `${Number(year) - 1}-01-01`, to: `${Number(year) - 1}-12-31` };
    case "more": {
      const from = params.get("date_from");
      const to = params.get("date_to");
      return { field, from: isDate(from) ? from : undefined, to: isDate(to) ? to : undefined };
    }
    default:
      // absent or unknown: the app's default list, the last 12 months
      return { field, from: shiftMonths(today, -12), to: today };
  }
}

type Predicate = (record: FakturowniaRecord) => boolean;

function equalsText(field: string, wanted: string | null): Predicate | undefined {
  if (wanted === null || wanted === "") return undefined;
  return (record) => String(record[field] ?? "") === wanted;
}

function filters(resource: ListResource, params: URLSearchParams): { key: unknown[]; predicates: Predicate[] } {
  const predicates: Predicate[] = [];
  const key: unknown[] = [];
  const add = (name: string, predicate: Predicate | undefined, value: unknown): void => {
    if (!predicate) return;
    predicates.push(predicate);
    key.push([name, value]);
  };
  if (resource === "invoices" || resource === "cost_invoices") {
    const income = resource === "invoices";
    predicates.push((record) => record.income === income);
    key.push(["income", income]);
    const kinds = [...params.getAll("kinds[]"), ...params.getAll("kinds"), ...params.getAll("kind")].filter((k) => k !== "");
    if (kinds.length > 0) add("kinds", (record) => kinds.includes(String(record.kind)), kinds);
    const ids = (params.get("invoice_ids") ?? "").split(",").map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
    if (ids.length > 0) add("ids", (record) => ids.includes(record.id as number), ids);
    add("number", equalsText("number", params.get("number")), params.get("number"));
    add("client_id", equalsText("client_id", params.get("client_id")), params.get("client_id"));
    add("oid", equalsText("oid", params.get("oid")), params.get("oid"));
  } else if (resource === "warehouse_documents") {
    add("kind", equalsText("kind", params.get("kind")), params.get("kind"));
    add("warehouse_id", equalsText("warehouse_id", params.get("warehouse_id")), params.get("warehouse_id"));
  } else if (resource === "clients") {
    const name = params.get("name")?.toLowerCase();
    if (name) add("name", (record) => String(record.name ?? "").toLowerCase().includes(name), name);
    for (const field of ["email", "shortcut", "tax_no", "external_id"]) add(field, equalsText(field, params.get(field)), params.get(field));
  } else if (resource === "products") {
    const from = params.get("date_from");
    // "added or changed after the date": updated_at is never older than created_at
    if (isDate(from)) add("date_from", (record) => String(record.updated_at ?? "").slice(0, 10) >= from, from);
  }
  return { key, predicates };
}

interface Order {
  field: string;
  desc: boolean;
}

function parseOrder(resource: ListResource, raw: string | null): Order {
  if (raw) {
    const desc = raw.endsWith(".desc");
    const field = raw.replace(/\.(desc|asc)$/, "");
    if (ORDER_FIELDS[resource].has(field)) return { field, desc };
  }
  // the app lists newest first
  return { field: "id", desc: true };
}

function sortKey(field: string, value: unknown): number | string | null {
  if (value === null || value === undefined || value === "") return null;
  if (MONEY_FIELDS.has(field)) return toNumber(value) ?? null;
  if (field === "updated_at" || field === "created_at") return Date.parse(String(value));
  return typeof value === "number" ? value : String(value);
}

function compareKeys(a: number | string | null, b: number | string | null): number {
  // PostgreSQL: NULLs sort as the largest value (last ascending, first descending)
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** All rows a list request selects, in order (cached per query shape until the next write). */
export function selectRows(table: FakeTable, resource: ListResource, params: URLSearchParams, today: string): FakturowniaRecord[] {
  const range = periodRange(resource, params, today);
  const { key: filterKey, predicates } = filters(resource, params);
  const order = parseOrder(resource, params.get("order"));
  const key = JSON.stringify([resource, range ?? null, filterKey, order]);
  return table.view(key, () => {
    if (range) {
      const { field, from, to } = range;
      predicates.push((record) => {
        const value = record[field];
        if (typeof value !== "string") return false;
        return (from === undefined || value >= from) && (to === undefined || value <= to);
      });
    }
    const decorated: Array<{ key: number | string | null; id: number; record: FakturowniaRecord }> = [];
    for (const record of table.rows.values()) {
      if (predicates.every((p) => p(record))) decorated.push({ key: sortKey(order.field, record[order.field]), id: record.id as number, record });
    }
    const sign = order.desc ? -1 : 1;
    // ties are broken by id in the same direction, so pages are stable between writes
    decorated.sort((a, b) => sign * (compareKeys(a.key, b.key) || a.id - b.id));
    return decorated.map((d) => d.record);
  });
}

export function pageOf<T>(rows: T[], params: URLSearchParams): T[] {
  const page = Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
  const requested = Number.parseInt(params.get("per_page") ?? "", 10);
  const perPage = Math.min(MAX_PER_PAGE, requested > 0 ? requested : DEFAULT_PER_PAGE);
  return rows.slice((page - 1) * perPage, page * perPage);
}
