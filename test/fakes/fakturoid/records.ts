import { pragueDate, pragueTimestamp } from "./local-time.js";

/**
 * Record shapes of the Fakturoid fake (v3 JSON: numbers for ids, decimal strings for money,
 * `YYYY-MM-DD` dates, zoned timestamps) and the money arithmetic behind payments.
 */

export type FakturoidResource = "invoices" | "expenses" | "subjects" | "inventory_items" | "inventory_moves";
export type FakturoidRecord = Record<string, unknown>;

export const RESOURCES: FakturoidResource[] = ["invoices", "expenses", "subjects", "inventory_items", "inventory_moves"];

export function isFakturoidResource(name: string): name is FakturoidResource {
  return (RESOURCES as string[]).includes(name);
}

/** Parses "11000.0", "12.5", 12 into hundredths; undefined when not a number. */
export function parseCents(value: unknown): number | undefined {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : undefined;
  if (text === undefined || !/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  return Math.round(Number(text) * 100);
}

/** Ruby BigDecimal style: 1100000 → "11000.0", 1234 → "12.34", 1230 → "12.3". */
export function formatMoney(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(Math.round(cents));
  const whole = Math.floor(abs / 100);
  const fraction = abs % 100;
  if (fraction === 0) return `${sign}${whole}.0`;
  if (fraction % 10 === 0) return `${sign}${whole}.${fraction / 10}`;
  return `${sign}${whole}.${String(fraction).padStart(2, "0")}`;
}

/** Formats a caller-supplied money value ("11000", 11000, "11000.00") the way Fakturoid does. */
export function normalizeMoney(value: unknown): unknown {
  const cents = parseCents(value);
  return cents === undefined ? value : formatMoney(cents);
}

export const MONEY_FIELDS = new Set([
  "subtotal",
  "total",
  "native_subtotal",
  "native_total",
  "remaining_amount",
  "remaining_native_amount",
  "amount",
  "native_amount",
  "native_purchase_price",
  "native_retail_price",
  "purchase_price",
  "retail_price",
]);

const DAY_MS = 86_400_000;

function amountFor(n: number): number {
  return 100_000 + ((n * 7919) % 1_900_000);
}

export interface TemplateContext {
  baseUrl: string;
  slug: string;
  subjectId: number | null;
  inventoryItemId: number | null;
}

/*
 * Invoices and expenses share their money block (withCzk) and their tail (withDocumentTail),
 * appended in the API's field order. Plain assignments on purpose: seeding 100,000 records
 * builds these, and spreads inside the literals made that 2.5× slower.
 */
function withCzk(document: FakturoidRecord, net: string, gross: string): FakturoidRecord {
  document.currency = "CZK";
  document.exchange_rate = "1.0";
  document.subtotal = net;
  document.total = gross;
  document.native_subtotal = net;
  document.native_total = gross;
  return document;
}

function withDocumentTail(document: FakturoidRecord, htmlUrl: string, url: string, line: FakturoidRecord, stamp: string): FakturoidRecord {
  document.lines = [line];
  document.payments = [];
  document.html_url = htmlUrl;
  document.url = url;
  document.created_at = stamp;
  document.updated_at = stamp;
  return document;
}

/** A plausible record of `resource`, the `n`-th of its kind, created at `at` (epoch ms). */
export function templateRecord(resource: FakturoidResource, id: number, n: number, at: number, ctx: TemplateContext): FakturoidRecord {
  const stamp = pragueTimestamp(at);
  const date = pragueDate(at);
  const year = date.slice(0, 4);
  const api = `${ctx.baseUrl}/api/v3/accounts/${ctx.slug}`;
  const subtotal = amountFor(n);
  const total = Math.round(subtotal * 1.21);
  const net = formatMoney(subtotal);
  const gross = formatMoney(total);
  const times = { created_at: stamp, updated_at: stamp };
  switch (resource) {
    case "invoices": {
      const invoice = withCzk({
        id,
        custom_id: null,
        document_type: "invoice",
        proforma_followup_document: null,
        correction_id: null,
        number: `${year}-${String(n).padStart(4, "0")}`,
        variable_symbol: `${year}${String(n).padStart(4, "0")}`,
        status: "open",
        subject_id: ctx.subjectId,
        client_name: `Zákazník ${n} s.r.o.`,
        issued_on: date,
        taxable_fulfillment_due: date,
        due: 14,
        due_on: pragueDate(at + 14 * DAY_MS),
        sent_at: null,
        paid_on: null,
        reminder_sent_at: null,
        cancelled_at: null,
        uncollectible_at: null,
        locked_at: null,
      }, net, gross);
      invoice.remaining_amount = gross;
      invoice.remaining_native_amount = gross;
      return withDocumentTail(invoice, `${ctx.baseUrl}/${ctx.slug}/invoices/${id}`, `${api}/invoices/${id}.json`, { id: id * 10, name: `Služba ${n}`, quantity: "1.0", unit_name: "", unit_price: net, vat_rate: 21 }, stamp);
    }
    case "expenses": {
      const expense = withCzk({
        id,
        custom_id: null,
        document_type: "invoice",
        number: `N${year}${String(n).padStart(4, "0")}`,
        original_number: `AB${n}`,
        variable_symbol: `${year}${String(n).padStart(6, "0")}`,
        status: "open",
        subject_id: ctx.subjectId,
        issued_on: date,
        received_on: date,
        taxable_fulfillment_due: date,
        due_on: pragueDate(at + 14 * DAY_MS),
        paid_on: null,
        locked_at: null,
      }, net, gross);
      return withDocumentTail(expense, `${ctx.baseUrl}/${ctx.slug}/expenses/${id}`, `${api}/expenses/${id}.json`, { id: id * 10, name: `Nákup ${n}`, quantity: "1.0", unit_name: "", unit_price: net, vat_rate: 21 }, stamp);
    }
    case "subjects":
      return {
        id,
        custom_id: null,
        type: "customer",
        name: `Zákazník ${n} s.r.o.`,
        street: `Dlouhá ${n}`,
        city: "Praha",
        zip: "11000",
        country: "CZ",
        registration_no: String(10_000_000 + n),
        vat_no: `CZ${10_000_000 + n}`,
        email: `zakaznik${n}@example.cz`,
        html_url: `${ctx.baseUrl}/${ctx.slug}/subjects/${id}`,
        url: `${api}/subjects/${id}.json`,
        ...times,
      };
    case "inventory_items":
      return {
        id,
        name: `Položka ${n}`,
        sku: `SKU-${String(n).padStart(5, "0")}`,
        article_number_type: null,
        article_number: null,
        unit_name: "ks",
        track_quantity: true,
        quantity: `${(n * 13) % 200}.0`,
        min_quantity: null,
        max_quantity: null,
        allow_below_zero: false,
        native_purchase_price: net,
        native_retail_price: gross,
        vat_rate: "standard",
        archived: false,
        url: `${api}/inventory_items/${id}.json`,
        ...times,
      };
    case "inventory_moves":
      return {
        id,
        inventory_item_id: ctx.inventoryItemId,
        direction: n % 3 === 0 ? "out" : "in",
        quantity_change: `${(n % 5) + 1}.0`,
        purchase_price: net,
        retail_price: gross,
        native_purchase_price: net,
        native_retail_price: gross,
        private_note: null,
        moved_on: date,
        document: null,
        ...times,
      };
  }
}
