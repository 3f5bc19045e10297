import {
  addDays,
  defaultClient,
  defaultDocument,
  defaultPayment,
  defaultProduct,
  defaultWarehouseDocument,
  FakturowniaValidationError,
  isDate,
  localDate,
  localTimestamp,
  money,
  normalizeMoney,
  position,
  toBoolean,
  toNumber,
  validate,
  type AccountTime,
  type FakturowniaRecord,
  type TableName,
} from "./records.js";
import { FakeTable } from "./table.js";
import { WebhookHub } from "./webhooks.js";

export type FakturowniaResource = "invoices" | "cost_invoices" | "warehouse_documents" | "payments" | "clients" | "products";

export const TABLE_OF: Record<FakturowniaResource, TableName> = {
  invoices: "documents",
  cost_invoices: "documents",
  warehouse_documents: "warehouse_documents",
  payments: "payments",
  clients: "clients",
  products: "products",
};

export class FakturowniaNotFoundError extends Error {
  override name = "FakturowniaNotFoundError";
}

/** Fields the server owns; writes cannot set them. */
const SERVER_FIELDS = ["id", "created_at", "updated_at", "token", "view_url"];
/**
 * Seeded issue dates spread evenly over the last two years, so default lists hide about half;
 * `created_at`/`updated_at` fall on the issue day.
 */
const SEED_SPAN_DAYS = 730;

interface Allocation {
  invoiceId: number;
  cents: number;
}

function cents(value: unknown): number {
  return Math.round((toNumber(value) ?? 0) * 100);
}

function webhookObject(table: TableName, record: FakturowniaRecord): "invoice" | "client" | "product" | undefined {
  if (table === "documents") return record.income === true ? "invoice" : undefined;
  if (table === "clients") return "client";
  if (table === "products") return "product";
  return undefined;
}

/** The records and business rules of one fake Fakturownia account. */
export class FakturowniaState {
  readonly tables: Record<TableName, FakeTable> = {
    documents: new FakeTable(),
    warehouse_documents: new FakeTable(),
    payments: new FakeTable(),
    clients: new FakeTable(),
    products: new FakeTable(),
  };
  readonly webhooks: WebhookHub;
  private counters = new Map<string, number>();
  private allocations = new Map<number, Allocation[]>();

  constructor(readonly time: AccountTime) {
    this.webhooks = new WebhookHub(() => this.stamp(), time.now);
  }

  stamp(ms = this.time.now()): string {
    return localTimestamp(ms, this.time);
  }

  today(): string {
    return localDate(this.time.now(), this.time);
  }

  /** A stored record of that resource; invoices and cost invoices share one table split by `income`. */
  find(resource: FakturowniaResource, id: number): FakturowniaRecord | undefined {
    const record = this.tables[TABLE_OF[resource]].rows.get(id);
    if (!record) return undefined;
    if (resource === "invoices" && record.income !== true) return undefined;
    if (resource === "cost_invoices" && record.income !== false) return undefined;
    return record;
  }

  private require(resource: FakturowniaResource, id: number): FakturowniaRecord {
    const record = this.find(resource, id);
    if (!record) throw new FakturowniaNotFoundError(`${resource} ${id} not found`);
    return record;
  }

  private nextNumber(prefix: string, date: string, monthly: boolean): string {
    const period = monthly ? date.slice(0, 7) : date.slice(0, 4);
    const key = `${prefix}|${period}`;
    const n = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, n);
    return monthly ? `${prefix} ${n}/${date.slice(5, 7)}/${date.slice(0, 4)}` : `${prefix} ${n}/${date.slice(0, 4)}`;
  }

  private build(resource: FakturowniaResource, i: number, fields: Record<string, unknown>, stamp: string, issueDate: string): FakturowniaRecord {
    const table = this.tables[TABLE_OF[resource]];
    const id = table.allocateId(fields.id);
    const date = isDate(fields.issue_date) ? fields.issue_date : isDate(fields.paid_date) && resource === "payments" ? fields.paid_date : issueDate;
    switch (resource) {
      case "invoices":
      case "cost_invoices": {
        const income = resource === "invoices";
        const number = typeof fields.number === "string" && fields.number !== "" ? fields.number : this.nextNumber(income ? "FV" : "FK", date, true);
        const record = Object.assign(defaultDocument({ i, id, income, issueDate: date, number, stamp }), fields, { id, income });
        return "positions" in fields || "price_gross" in fields ? withTotals(record, fields) : record;
      }
      case "warehouse_documents": {
        const kind = typeof fields.kind === "string" ? fields.kind : "pz";
        const number = typeof fields.number === "string" && fields.number !== "" ? fields.number : this.nextNumber(kind.toUpperCase(), date, false);
        return { ...defaultWarehouseDocument(i, id, kind, date, number, stamp), ...fields, id };
      }
      case "payments":
        return { ...defaultPayment(i, id, date, stamp), ...fields, id };
      case "clients":
        return { ...defaultClient(i, id, stamp), ...fields, id };
      case "products":
        return { ...defaultProduct(i, id, stamp), ...fields, id };
    }
  }

  create(resource: FakturowniaResource, fields: Record<string, unknown> = {}): FakturowniaRecord {
    const stamp = this.stamp();
    const clean = { ...fields };
    for (const field of ["created_at", "updated_at"]) delete clean[field];
    if (resource === "payments") return this.createPayment(clean, stamp);
    const table = TABLE_OF[resource];
    const record = this.build(resource, this.tables[table].rows.size, clean, stamp, this.today());
    Object.assign(record, { created_at: stamp, updated_at: stamp });
    normalizeMoney(record);
    if (table === "documents" && !("status" in clean)) Object.assign(record, this.paymentState(record, cents(record.paid), record.paid_date));
    validate(table, record);
    this.tables[table].put(record);
    this.emit(table, "create", record);
    return record;
  }

  update(resource: FakturowniaResource, id: number, patch: Record<string, unknown>): FakturowniaRecord {
    const current = this.require(resource, id);
    const table = TABLE_OF[resource];
    const clean = { ...patch };
    for (const field of [...SERVER_FIELDS, "income"]) delete clean[field];
    if (resource === "payments") return this.updatePayment(current, clean);
    let next: FakturowniaRecord = { ...current, ...clean, updated_at: this.stamp() };
    if (table === "documents") {
      next = withTotals(next, clean);
      normalizeMoney(next);
      if (("paid" in clean || "price_gross" in clean || "positions" in clean) && !("status" in clean)) Object.assign(next, this.paymentState(next, cents(next.paid), next.paid_date));
    }
    normalizeMoney(next);
    validate(table, next);
    this.tables[table].put(next);
    this.emit(table, "update", next);
    return next;
  }

  remove(resource: FakturowniaResource, id: number): void {
    const record = this.require(resource, id);
    const table = TABLE_OF[resource];
    if (resource === "payments") this.reverse(id);
    this.tables[table].delete(id);
    this.emit(table, "destroy", record);
  }

  changeStatus(id: number, status: string): FakturowniaRecord {
    const record = this.tables.documents.rows.get(id);
    if (!record) throw new FakturowniaNotFoundError(`invoice ${id} not found`);
    const patch: Record<string, unknown> = { status };
    if (status === "paid") Object.assign(patch, { paid: record.price_gross, paid_date: record.paid_date ?? this.today() });
    return this.update(record.income === true ? "invoices" : "cost_invoices", id, patch);
  }

  cancel(id: number, reason: unknown): FakturowniaRecord {
    const record = this.tables.documents.rows.get(id);
    if (!record) throw new FakturowniaNotFoundError(`invoice ${id} not found`);
    return this.update(record.income === true ? "invoices" : "cost_invoices", id, { cancelled: true, cancel_reason: typeof reason === "string" ? reason : null });
  }

  addPayment(invoiceId: number, amount: string): FakturowniaRecord {
    return this.create("payments", { invoice_id: invoiceId, price: amount });
  }

  /** Payments allocated to an invoice, for `additional_fields[invoice]=connected_payments`. */
  connectedPayments(invoiceId: number): FakturowniaRecord[] {
    const result: FakturowniaRecord[] = [];
    for (const [paymentId, allocations] of this.allocations) {
      const payment = this.tables.payments.rows.get(paymentId);
      if (payment && allocations.some((a) => a.invoiceId === invoiceId)) result.push(payment);
    }
    return result;
  }

  /** Invoices a payment points at, for `include=invoices`. */
  connectedInvoices(payment: FakturowniaRecord): FakturowniaRecord[] {
    return this.invoiceIdsOf(payment)
      .map((id) => this.tables.documents.rows.get(id))
      .filter((invoice): invoice is FakturowniaRecord => invoice !== undefined);
  }

  seed(resource: FakturowniaResource, count: number, fields?: (i: number) => Record<string, unknown>): void {
    const table = this.tables[TABLE_OF[resource]];
    const now = this.time.now();
    const today = localDate(now, this.time);
    for (let i = 0; i < count; i++) {
      const given = fields?.(i) ?? {};
      const issueDate = addDays(today, -Math.floor(((count - 1 - i) * SEED_SPAN_DAYS) / Math.max(1, count)));
      // last touched during its issue day (never after now), like a real history
      const day = isDate(given.issue_date) ? given.issue_date : issueDate;
      const issuedAt = Date.parse(`${day}T08:00:00Z`) - this.time.offsetMinutes * 60_000 + ((i * 37) % 36_000) * 1000;
      const stamp = this.stamp(Math.min(issuedAt, now - (count - i)));
      const record = this.build(resource, i, given, stamp, issueDate);
      normalizeMoney(record);
      if (table === this.tables.documents && "paid" in given && !("status" in given)) Object.assign(record, this.paymentState(record, cents(record.paid), record.paid_date));
      table.rows.set(record.id as number, record);
    }
    table.touched();
  }

  private emit(table: TableName, action: "create" | "update" | "destroy", record: FakturowniaRecord): void {
    const object = webhookObject(table, record);
    if (object) this.webhooks.emit(`${object}:${action}`, object, record);
  }

  /** `status`/`paid`/`paid_date` of an invoice holding `paidCents`. */
  private paymentState(invoice: FakturowniaRecord, paidCents: number, paidDate: unknown): FakturowniaRecord {
    const gross = cents(invoice.price_gross);
    const previous = String(invoice.status ?? "issued");
    const unpaidStatus = previous === "paid" || previous === "partial" ? "issued" : previous;
    if (paidCents > 0 && paidCents >= gross) return { status: "paid", paid: money(paidCents / 100), paid_date: isDate(paidDate) ? paidDate : this.today() };
    if (paidCents > 0) return { status: "partial", paid: money(paidCents / 100), paid_date: null };
    return { status: unpaidStatus, paid: "0.0", paid_date: null };
  }

  private applyToInvoice(invoiceId: number, deltaCents: number, paidDate: unknown): void {
    const invoice = this.tables.documents.rows.get(invoiceId);
    if (!invoice) return;
    const next = { ...invoice, ...this.paymentState(invoice, cents(invoice.paid) + deltaCents, paidDate), updated_at: this.stamp() };
    this.tables.documents.put(next);
    this.emit("documents", "update", next);
  }

  private invoiceIdsOf(fields: Record<string, unknown>): number[] {
    const raw = fields.invoice_ids;
    const list = Array.isArray(raw) ? raw : typeof raw === "string" && raw !== "" ? raw.split(",") : [];
    const ids = list.map((v) => Number(v)).filter((n) => Number.isInteger(n) && n > 0);
    const single = Number(fields.invoice_id);
    if (ids.length === 0 && Number.isInteger(single) && single > 0) ids.push(single);
    return ids;
  }

  /** Pays the listed invoices in order; the last one takes any overpayment. */
  private allocate(payment: FakturowniaRecord, invoiceIds: number[]): void {
    if (!toBoolean(payment.paid) || invoiceIds.length === 0) return;
    let remaining = cents(payment.price);
    const allocations: Allocation[] = [];
    invoiceIds.forEach((invoiceId, index) => {
      const invoice = this.tables.documents.rows.get(invoiceId);
      if (!invoice || remaining <= 0) return;
      const outstanding = Math.max(0, cents(invoice.price_gross) - cents(invoice.paid));
      const portion = index === invoiceIds.length - 1 ? remaining : Math.min(remaining, outstanding);
      if (portion <= 0) return;
      remaining -= portion;
      allocations.push({ invoiceId, cents: portion });
      this.applyToInvoice(invoiceId, portion, payment.paid_date);
    });
    this.allocations.set(payment.id as number, allocations);
  }

  private reverse(paymentId: number): void {
    for (const allocation of this.allocations.get(paymentId) ?? []) this.applyToInvoice(allocation.invoiceId, -allocation.cents, null);
    this.allocations.delete(paymentId);
  }

  private paymentLinks(fields: Record<string, unknown>): { invoiceIds: number[]; links: Record<string, unknown> } {
    const invoiceIds = this.invoiceIdsOf(fields);
    const missing = invoiceIds.filter((id) => !this.tables.documents.rows.has(id));
    if (missing.length > 0) throw new FakturowniaValidationError({ invoice_id: ["nie istnieje"] });
    const first = invoiceIds[0] === undefined ? undefined : this.tables.documents.rows.get(invoiceIds[0]);
    const links = invoiceIds.length === 0 ? {} : { invoice_id: invoiceIds[0], invoice_ids: invoiceIds, invoice_name: first?.number ?? null, client_id: first?.client_id ?? null };
    return { invoiceIds, links };
  }

  private createPayment(fields: Record<string, unknown>, stamp: string): FakturowniaRecord {
    const { invoiceIds, links } = this.paymentLinks(fields);
    const record = this.build("payments", this.tables.payments.rows.size, { ...fields, ...links }, stamp, this.today());
    Object.assign(record, { created_at: stamp, updated_at: stamp, paid: toBoolean(record.paid) });
    if (!("name" in fields) && typeof links.invoice_name === "string") record.name = `Płatność za ${links.invoice_name}`;
    normalizeMoney(record);
    validate("payments", record);
    this.tables.payments.put(record);
    this.allocate(record, invoiceIds);
    return record;
  }

  private updatePayment(current: FakturowniaRecord, patch: Record<string, unknown>): FakturowniaRecord {
    const relink = "invoice_id" in patch || "invoice_ids" in patch;
    const { invoiceIds, links } = this.paymentLinks(relink ? patch : current);
    const next: FakturowniaRecord = { ...current, ...patch, ...links, updated_at: this.stamp() };
    if ("paid" in patch) next.paid = toBoolean(patch.paid);
    normalizeMoney(next);
    validate("payments", next);
    this.reverse(current.id as number);
    this.tables.payments.put(next);
    this.allocate(next, invoiceIds);
    return next;
  }
}

/** Keeps `price_net`/`price_gross`/`price_tax` and the positions consistent after a write. */
function withTotals(record: FakturowniaRecord, written: Record<string, unknown>): FakturowniaRecord {
  const next = { ...record };
  if (Array.isArray(written.positions)) {
    let gross = 0;
    let net = 0;
    next.positions = written.positions.map((raw: unknown, index: number) => {
      const p = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {};
      const tax = toNumber(p.tax) ?? 23;
      const quantity = toNumber(p.quantity) ?? 1;
      const lineGross = toNumber(p.total_price_gross) ?? (toNumber(p.price_gross) ?? 0) * quantity;
      gross += lineGross;
      net += lineGross / (1 + tax / 100);
      return { ...position((next.id as number) * 10 + index, String(p.name ?? "Pozycja"), lineGross, tax), ...p, quantity: money(quantity) };
    });
    if (!("price_gross" in written)) {
      next.price_gross = money(gross);
      next.price_net = money(net);
      next.price_tax = money(gross - net);
      return next;
    }
  }
  if ("price_gross" in written) {
    const gross = toNumber(written.price_gross);
    if (gross !== undefined) {
      if (!("price_net" in written)) next.price_net = money(gross / 1.23);
      if (!("price_tax" in written)) next.price_tax = money(gross - (toNumber(next.price_net) ?? gross / 1.23));
      if (!Array.isArray(written.positions)) next.positions = [position((next.id as number) * 10, "Pozycja", gross)];
    }
  }
  return next;
}
