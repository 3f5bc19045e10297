import { addDays } from "../zone-clock.js";
/**
 * Record shapes, formats and validation of the Fakturownia fake. Values follow the wire format
 * the real API renders: money as Ruby BigDecimal strings ("339.99", "0.0"), dates `YYYY-MM-DD`,
 * timestamps ISO 8601 with milliseconds and the account's offset, `income` as a boolean.
 */

export type FakturowniaRecord = Record<string, unknown>;

export type TableName = "documents" | "warehouse_documents" | "payments" | "clients" | "products";

/** Validation failure of a write; the HTTP layer answers 422 `{"code":"error","message":errors}`. */
export class FakturowniaValidationError extends Error {
  override name = "FakturowniaValidationError";
  constructor(readonly errors: Record<string, string[]>) {
    super(`invalid record: ${Object.entries(errors).map(([field, msgs]) => `${field} ${msgs.join(", ")}`).join("; ")}`);
  }
}

export interface AccountTime {
  now: () => number;
  /** Minutes east of UTC, from an offset like "+01:00". */
  offsetMinutes: number;
  /** The offset as rendered, e.g. "+01:00". */
  offset: string;
}

const BLANK = "nie może być puste";
const INVALID = "jest nieprawidłowe";

export const INVOICE_KINDS = new Set(["vat", "proforma", "bill", "receipt", "advance", "final", "correction", "vat_mp", "invoice_other", "vat_margin", "kp", "kw", "estimate", "wdt", "wnt", "import_service", "export_products"]);
export const INVOICE_STATUSES = new Set(["issued", "sent", "paid", "partial", "rejected", "accepted"]);
export const WAREHOUSE_KINDS = new Set(["pz", "wz", "mm", "pw", "rw"]);
export const MONEY_FIELDS = new Set(["price_net", "price_gross", "price_tax", "paid", "price", "total_price_gross", "total_price_net"]);

export function parseUtcOffset(offset: string): number {
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
  if (!match) throw new Error(`utcOffset must look like +01:00, got ${offset}`);
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === "-" ? -minutes : minutes;
}

/** `2026-11-23T11:00:00.000+01:00` for the account's offset. */
export function localTimestamp(ms: number, time: AccountTime): string {
  return new Date(ms + time.offsetMinutes * 60_000).toISOString().slice(0, 23) + time.offset;
}

export function localDate(ms: number, time: AccountTime): string {
  return new Date(ms + time.offsetMinutes * 60_000).toISOString().slice(0, 10);
}


export function isDate(value: unknown): value is string {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
}

/** Ruby's BigDecimal#to_s as Rails renders decimal columns: at least one decimal, no trailing zeros. */
export function money(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  const text = String(rounded === 0 ? 0 : rounded);
  return text.includes(".") ? text : `${text}.0`;
}

export function toNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value.replace(",", "."));
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export function toBoolean(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  return typeof value === "string" && ["1", "true", "yes", "t"].includes(value.toLowerCase());
}

/** Writes accept numbers or strings for money; the record always holds the string form. */
export function normalizeMoney(record: FakturowniaRecord): void {
  for (const field of MONEY_FIELDS) {
    if (!(field in record) || record[field] === null) continue;
    const n = toNumber(record[field]);
    if (n !== undefined) record[field] = money(n);
  }
}

const BUYERS = ["Kowalski i Synowie Sp. z o.o.", "Nowak Budownictwo S.A.", "Wiśniewska Design", "Zielony Ogród s.c.", "Hurtownia Bałtyk", "Mazur IT Solutions", "Piekarnia Pod Lipą", "Transport Wójcik", "Apteka Centrum", "Drukarnia Lewandowski"];
const CITIES = ["Warszawa", "Kraków", "Gdańsk", "Poznań", "Wrocław", "Łódź"];
const PRODUCTS = ["Usługa programistyczna", "Konsultacje", "Licencja roczna", "Hosting", "Szkolenie", "Materiały biurowe"];
export const SELLER = { seller_name: "Retrohook Demo Sp. z o.o.", seller_tax_no: "5252445767", seller_street: "ul. Prosta 1", seller_post_code: "00-838", seller_city: "Warszawa", seller_country: "PL", seller_bank_account: "PL61109010140000071219812874" };

function pick<T>(list: readonly T[], i: number): T {
  return list[((i % list.length) + list.length) % list.length] as T;
}

/** Deterministic NIP-like 10 digits. */
function taxNo(i: number): string {
  return String(1_000_000_000 + ((i * 7_919_113) % 8_999_999_999)).slice(0, 10);
}

function token(i: number): string {
  return (i * 2_654_435_761).toString(36).padStart(10, "x").slice(-10) + (i % 1000).toString(36);
}

/** A gross amount that looks like an invoice total. */
export function sampleGross(i: number): number {
  return Math.round(((i * 7_919) % 500_000) + 1_000) / 100;
}

export function position(id: number, name: string, gross: number, tax = 23): FakturowniaRecord {
  const net = gross / (1 + tax / 100);
  return { id, name, tax: String(tax), quantity: "1.0", quantity_unit: "szt.", price_gross: money(gross), price_net: money(net), total_price_gross: money(gross), total_price_net: money(net), deleted: false };
}

export interface DocumentSeed {
  i: number;
  id: number;
  income: boolean;
  issueDate: string;
  number: string;
  stamp: string;
}

export function defaultDocument(seed: DocumentSeed): FakturowniaRecord {
  const { i, id, income, issueDate, number, stamp } = seed;
  const gross = sampleGross(i + id);
  const net = gross / 1.23;
  const party = pick(BUYERS, i);
  const city = pick(CITIES, i);
  const docToken = token(id);
  // one literal per side (no spreads): seeding 100,000 of these must stay cheap
  const record: FakturowniaRecord = {
    id,
    kind: "vat",
    number,
    income,
    issue_date: issueDate,
    sell_date: issueDate,
    transaction_date: issueDate,
    payment_to: addDays(issueDate, 14),
    payment_type: "transfer",
    place: "Warszawa",
    currency: "PLN",
    lang: "pl",
    status: "issued",
    price_net: money(net),
    price_gross: money(gross),
    price_tax: money(gross - net),
    paid: "0.0",
    paid_date: null,
    cancelled: false,
    description: "",
    client_id: null,
    department_id: null,
    oid: "",
    token: docToken,
    view_url: `https://demo.fakturownia.pl/invoice/${docToken}`,
    user_id: 1,
    seller_name: income ? SELLER.seller_name : party,
    seller_tax_no: income ? SELLER.seller_tax_no : taxNo(i),
    seller_street: income ? SELLER.seller_street : `ul. Krótka ${(i % 40) + 1}`,
    seller_post_code: income ? SELLER.seller_post_code : "00-002",
    seller_city: income ? SELLER.seller_city : city,
    seller_country: "PL",
    seller_bank_account: income ? SELLER.seller_bank_account : null,
    buyer_name: income ? party : SELLER.seller_name,
    buyer_tax_no: income ? taxNo(i) : SELLER.seller_tax_no,
    buyer_street: income ? `ul. Długa ${(i % 90) + 1}` : SELLER.seller_street,
    buyer_post_code: income ? "00-001" : SELLER.seller_post_code,
    buyer_city: income ? city : SELLER.seller_city,
    buyer_country: "PL",
    buyer_email: income ? `biuro${i % 97}@example.pl` : null,
    positions: [position(id * 10, pick(PRODUCTS, i), gross)],
    created_at: stamp,
    updated_at: stamp,
  };
  if (!income) {
    record.accounting_kind = "goods";
    record.delivery_date = issueDate;
  }
  return record;
}

export function defaultWarehouseDocument(i: number, id: number, kind: string, issueDate: string, number: string, stamp: string): FakturowniaRecord {
  return { id, kind, number, issue_date: issueDate, warehouse_id: 1, client_id: null, invoice_ids: [], description: "", department_id: null, created_at: stamp, updated_at: stamp, price_net: money(sampleGross(i) / 1.23), price_gross: money(sampleGross(i)) };
}

export function defaultPayment(i: number, id: number, paidDate: string, stamp: string): FakturowniaRecord {
  return { id, name: `Płatność ${id}`, price: money(sampleGross(i)), paid: true, paid_date: paidDate, currency: "PLN", kind: "api", description: "", invoice_id: null, invoice_ids: [], invoice_name: null, client_id: null, created_at: stamp, updated_at: stamp };
}

export function defaultClient(i: number, id: number, stamp: string): FakturowniaRecord {
  return { id, name: pick(BUYERS, i) + (i >= BUYERS.length ? ` ${Math.floor(i / BUYERS.length)}` : ""), tax_no: taxNo(i), street: `ul. Długa ${(i % 90) + 1}`, post_code: "00-001", city: pick(CITIES, i), country: "PL", email: `biuro${i}@example.pl`, phone: "", shortcut: `K${id}`, external_id: null, note: "", kind: "buyer", deleted: false, created_at: stamp, updated_at: stamp };
}

export function defaultProduct(i: number, id: number, stamp: string): FakturowniaRecord {
  const gross = sampleGross(i);
  return { id, name: `${pick(PRODUCTS, i)} ${id}`, code: `P-${String(id).padStart(5, "0")}`, ean_code: null, description: "", price_net: money(gross / 1.23), price_gross: money(gross), tax: "23", currency: "PLN", quantity_unit: "szt.", quantity: "1.0", service: false, deleted: false, created_at: stamp, updated_at: stamp };
}

function blank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === "string" && value.trim() === "");
}

function add(errors: Record<string, string[]>, field: string, message: string): void {
  (errors[field] ??= []).push(message);
}

/** Fakturownia-like validation; messages are the Polish Rails ones an account in `pl` gets. */
export function validate(table: TableName, record: FakturowniaRecord): void {
  const errors: Record<string, string[]> = {};
  const dateField = (field: string): void => {
    if (!blank(record[field]) && !isDate(record[field])) add(errors, field, INVALID);
  };
  const moneyField = (field: string): void => {
    if (!blank(record[field]) && toNumber(record[field]) === undefined) add(errors, field, "nie jest liczbą");
  };
  switch (table) {
    case "documents": {
      const party = record.income === false ? "seller_name" : "buyer_name";
      if (blank(record[party]) && blank(record.client_id)) add(errors, party, BLANK);
      if (typeof record.kind !== "string" || !INVOICE_KINDS.has(record.kind)) add(errors, "kind", "nie znajduje się na liście dopuszczalnych wartości");
      if (typeof record.status !== "string" || !INVOICE_STATUSES.has(record.status)) add(errors, "status", "nie znajduje się na liście dopuszczalnych wartości");
      const taxNumber = record.buyer_tax_no;
      if (record.income !== false && typeof taxNumber === "string" && taxNumber !== "" && !/^(PL)?[0-9 -]{10,13}$/.test(taxNumber) && (blank(record.buyer_country) || record.buyer_country === "PL")) {
        add(errors, "buyer_tax_no", INVALID);
      }
      if (blank(record.issue_date)) add(errors, "issue_date", BLANK);
      for (const field of ["issue_date", "sell_date", "payment_to", "paid_date", "transaction_date"]) dateField(field);
      for (const field of ["price_gross", "price_net", "paid"]) moneyField(field);
      break;
    }
    case "warehouse_documents":
      if (typeof record.kind !== "string" || !WAREHOUSE_KINDS.has(record.kind)) add(errors, "kind", "nie znajduje się na liście dopuszczalnych wartości");
      if (blank(record.issue_date)) add(errors, "issue_date", BLANK);
      dateField("issue_date");
      break;
    case "payments":
      if (blank(record.name)) add(errors, "name", BLANK);
      if (blank(record.price)) add(errors, "price", BLANK);
      else moneyField("price");
      dateField("paid_date");
      break;
    case "clients":
      if (blank(record.name)) add(errors, "name", BLANK);
      break;
    case "products":
      if (blank(record.name)) add(errors, "name", BLANK);
      moneyField("price_gross");
      moneyField("price_net");
      break;
  }
  if (Object.keys(errors).length > 0) throw new FakturowniaValidationError(errors);
}

export { addDays };
