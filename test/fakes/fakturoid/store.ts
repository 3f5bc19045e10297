import { parseIsoDateTime, pragueDate, pragueTimestamp } from "./local-time.js";
import {
  MONEY_FIELDS,
  RESOURCES,
  formatMoney,
  normalizeMoney,
  parseCents,
  templateRecord,
  type FakturoidRecord,
  type FakturoidResource,
} from "./records.js";

/**
 * The Fakturoid fake's data: records per resource with their timestamps as numbers, payment
 * bookkeeping, and cached filtered+sorted list views (dropped on every write to a resource).
 */

/**
 * List order of the fake. Fakturoid does not document one, so pollers must not assume any;
 * the default (most recently updated first, ties by id descending) moves records between
 * pages when they change mid-walk, as a real unordered feed can.
 */
export type FakturoidListOrder = "updated_desc" | "created_desc" | "id_desc" | "scrambled";

export interface ListFilters {
  /** created_at strictly after (epoch ms). */
  since?: number;
  /** created_at strictly before. */
  until?: number;
  /** updated_at strictly after. */
  updatedSince?: number;
  /** updated_at strictly before. */
  updatedUntil?: number;
  /** Plain equality filters, field → value as sent. */
  equals: Array<[string, string]>;
}

interface Entry {
  record: FakturoidRecord;
  createdMs: number;
  updatedMs: number;
}

export class LockedError extends Error {}

export interface FakturoidStoreOptions {
  now: () => number;
  baseUrl: () => string;
  slug: string;
  order: FakturoidListOrder;
}

export type FakturoidStore = ReturnType<typeof createFakturoidStore>;

const PAYABLE = new Set<FakturoidResource>(["invoices", "expenses"]);

export function createFakturoidStore(options: FakturoidStoreOptions) {
  const { now, slug } = options;
  const tables = new Map<FakturoidResource, Map<number, Entry>>();
  const counters = new Map<FakturoidResource, number>();
  const nextIds = new Map<FakturoidResource, number>();
  const views = new Map<FakturoidResource, Map<string, FakturoidRecord[]>>();
  for (const resource of RESOURCES) {
    tables.set(resource, new Map());
    counters.set(resource, 0);
    nextIds.set(resource, 1);
    views.set(resource, new Map());
  }
  let nextPaymentId = 1;

  const table = (resource: FakturoidResource): Map<number, Entry> => tables.get(resource) as Map<number, Entry>;
  const touched = (resource: FakturoidResource): void => views.get(resource)?.clear();

  function setUpdated(entry: Entry, ms: number): void {
    entry.updatedMs = ms;
    entry.record.updated_at = pragueTimestamp(ms);
  }

  function firstId(resource: FakturoidResource): number | null {
    const first = table(resource).keys().next();
    return first.done ? null : first.value;
  }

  function allocateId(resource: FakturoidResource, wanted?: unknown): number {
    const next = nextIds.get(resource) ?? 1;
    const id = typeof wanted === "number" && Number.isInteger(wanted) && wanted > 0 ? wanted : next;
    if (table(resource).has(id)) throw new Error(`fakturoid fake: ${resource} ${id} exists`);
    nextIds.set(resource, Math.max(next, id + 1));
    return id;
  }

  function normalize(fields: FakturoidRecord): FakturoidRecord {
    const out: FakturoidRecord = {};
    for (const [key, value] of Object.entries(fields)) out[key] = MONEY_FIELDS.has(key) ? normalizeMoney(value) : value;
    return out;
  }

  function paidCents(record: FakturoidRecord): number {
    const payments = Array.isArray(record.payments) ? (record.payments as FakturoidRecord[]) : [];
    return payments.reduce((sum, payment) => sum + (parseCents(payment.amount) ?? 0), 0);
  }

  function remainingCents(record: FakturoidRecord): number {
    return Math.max(0, (parseCents(record.total) ?? 0) - paidCents(record));
  }

  /** Re-derives remaining_amount (invoices) and the paid state from total and payments[]. */
  function settle(resource: FakturoidResource, record: FakturoidRecord, pinned: Set<string>): void {
    if (!PAYABLE.has(resource)) return;
    const remaining = remainingCents(record);
    if (resource === "invoices") {
      if (!pinned.has("remaining_amount")) record.remaining_amount = formatMoney(remaining);
      if (!pinned.has("remaining_native_amount")) record.remaining_native_amount = formatMoney(remaining);
    }
    if (pinned.has("status")) return;
    const hasPayments = paidCents(record) > 0;
    if (remaining === 0 && hasPayments && record.status !== "paid") {
      record.status = "paid";
      const payments = record.payments as FakturoidRecord[];
      record.paid_on = payments[payments.length - 1]?.paid_on ?? pragueDate(now());
    } else if (remaining > 0 && record.status === "paid") {
      record.status = "open";
      record.paid_on = null;
    }
  }

  function insert(resource: FakturoidResource, fields: FakturoidRecord, at = now()): FakturoidRecord {
    const id = allocateId(resource, fields.id);
    const n = (counters.get(resource) ?? 0) + 1;
    counters.set(resource, n);
    const context = {
      baseUrl: options.baseUrl(),
      slug,
      subjectId: firstId("subjects"),
      inventoryItemId: resource === "inventory_moves" && fields.inventory_item_id === undefined ? (firstId("inventory_items") ?? insert("inventory_items", {}).id as number) : null,
    };
    const given = normalize(fields);
    const record: FakturoidRecord = { ...templateRecord(resource, id, n, at, context), ...given, id };
    const entry: Entry = { record, createdMs: at, updatedMs: at };
    if (typeof given.created_at === "string") entry.createdMs = parseIsoDateTime(given.created_at) ?? at;
    if (typeof given.updated_at === "string") entry.updatedMs = parseIsoDateTime(given.updated_at) ?? at;
    else if (typeof given.created_at === "string") setUpdated(entry, entry.createdMs);
    if (resource === "invoices" && given.total !== undefined && given.native_total === undefined) record.native_total = record.total;
    applyStatusSideEffects(resource, record, given);
    settle(resource, record, new Set(Object.keys(given)));
    table(resource).set(id, entry);
    touched(resource);
    return record;
  }

  /** Timestamps that go with a status set by hand (cancelled_at, uncollectible_at, …). */
  function applyStatusSideEffects(resource: FakturoidResource, record: FakturoidRecord, patch: FakturoidRecord): void {
    const stamp = pragueTimestamp(now());
    if (patch.locked_at === true) record.locked_at = stamp;
    if (patch.locked_at === false) record.locked_at = null;
    if (resource !== "invoices" || typeof patch.status !== "string") return;
    if (patch.status === "cancelled" && patch.cancelled_at === undefined) record.cancelled_at = stamp;
    if (patch.status === "uncollectible" && patch.uncollectible_at === undefined) record.uncollectible_at = stamp;
    if (patch.status === "sent" && patch.sent_at === undefined) record.sent_at = stamp;
    if (patch.status !== "cancelled" && patch.cancelled_at === undefined) record.cancelled_at = null;
    if (patch.status !== "uncollectible" && patch.uncollectible_at === undefined) record.uncollectible_at = null;
  }

  function modify(resource: FakturoidResource, id: number, patch: FakturoidRecord): FakturoidRecord | undefined {
    const entry = table(resource).get(id);
    if (!entry) return undefined;
    const given = normalize(patch);
    delete given.id;
    // "paid" by hand is a full payment, as marking paid in Fakturoid records one.
    const markPaid = PAYABLE.has(resource) && given.status === "paid" && remainingCents(entry.record) > 0;
    if (markPaid) delete given.status;
    Object.assign(entry.record, given);
    applyStatusSideEffects(resource, entry.record, given);
    if (typeof given.created_at === "string") entry.createdMs = parseIsoDateTime(given.created_at) ?? entry.createdMs;
    if (typeof given.updated_at === "string") entry.updatedMs = parseIsoDateTime(given.updated_at) ?? entry.updatedMs;
    else setUpdated(entry, now());
    settle(resource, entry.record, new Set(Object.keys(given)));
    touched(resource);
    if (markPaid) addPayment(resource as "invoices" | "expenses", id);
    return entry.record;
  }

  function erase(resource: FakturoidResource, id: number, options: { force: boolean }): boolean {
    const entry = table(resource).get(id);
    if (!entry) return false;
    if (!options.force && entry.record.locked_at) throw new LockedError("Document is locked");
    table(resource).delete(id);
    touched(resource);
    if (resource === "inventory_items") {
      for (const [moveId, move] of table("inventory_moves")) if (move.record.inventory_item_id === id) table("inventory_moves").delete(moveId);
      touched("inventory_moves");
    }
    return true;
  }

  function addPayment(resource: "invoices" | "expenses", id: number, amount?: string, paidOn?: string): FakturoidRecord | undefined {
    const entry = table(resource).get(id);
    if (!entry) return undefined;
    const cents = amount === undefined ? remainingCents(entry.record) : (parseCents(amount) ?? 0);
    const at = now();
    const payment: FakturoidRecord = {
      id: nextPaymentId++,
      paid_on: paidOn ?? pragueDate(at),
      currency: entry.record.currency ?? "CZK",
      amount: formatMoney(cents),
      native_amount: formatMoney(cents),
      mark_document_as_paid: true,
      variable_symbol: entry.record.variable_symbol ?? null,
      bank_account_id: null,
      created_at: pragueTimestamp(at),
      updated_at: pragueTimestamp(at),
    };
    const payments = Array.isArray(entry.record.payments) ? (entry.record.payments as FakturoidRecord[]) : [];
    entry.record.payments = [...payments, payment];
    setUpdated(entry, at);
    settle(resource, entry.record, new Set());
    touched(resource);
    return payment;
  }

  function removePayment(resource: "invoices" | "expenses", id: number, paymentId: number): boolean {
    const entry = table(resource).get(id);
    const payments = Array.isArray(entry?.record.payments) ? (entry.record.payments as FakturoidRecord[]) : [];
    if (!entry || !payments.some((p) => p.id === paymentId)) return false;
    entry.record.payments = payments.filter((p) => p.id !== paymentId);
    setUpdated(entry, now());
    settle(resource, entry.record, new Set());
    touched(resource);
    return true;
  }

  function compareEntries(order: FakturoidListOrder): (a: Entry, b: Entry) => number {
    const id = (e: Entry): number => e.record.id as number;
    switch (order) {
      case "updated_desc":
        return (a, b) => b.updatedMs - a.updatedMs || id(b) - id(a);
      case "created_desc":
        return (a, b) => b.createdMs - a.createdMs || id(b) - id(a);
      case "id_desc":
        return (a, b) => id(b) - id(a);
      case "scrambled":
        return (a, b) => ((id(a) * 2_654_435_761) % 4_294_967_291) - ((id(b) * 2_654_435_761) % 4_294_967_291) || id(a) - id(b);
    }
  }

  function list(resource: FakturoidResource, filters: ListFilters): FakturoidRecord[] {
    const cache = views.get(resource) as Map<string, FakturoidRecord[]>;
    const key = JSON.stringify(filters);
    const cached = cache.get(key);
    if (cached) return cached;
    const { since, until, updatedSince, updatedUntil, equals } = filters;
    const selected: Entry[] = [];
    for (const entry of table(resource).values()) {
      if (since !== undefined && !(entry.createdMs > since)) continue;
      if (until !== undefined && !(entry.createdMs < until)) continue;
      if (updatedSince !== undefined && !(entry.updatedMs > updatedSince)) continue;
      if (updatedUntil !== undefined && !(entry.updatedMs < updatedUntil)) continue;
      if (!equals.every(([field, value]) => String(entry.record[field] ?? "") === value)) continue;
      selected.push(entry);
    }
    selected.sort(compareEntries(options.order));
    const rows = selected.map((entry) => entry.record);
    if (cache.size > 32) cache.clear();
    cache.set(key, rows);
    return rows;
  }

  /** Adds `count` records created one second apart, the last one at now(). */
  function seed(resource: FakturoidResource, count: number): void {
    const end = now();
    const rows = table(resource);
    let n = counters.get(resource) ?? 0;
    let next = nextIds.get(resource) ?? 1;
    const context = {
      baseUrl: options.baseUrl(),
      slug,
      subjectId: firstId("subjects"),
      inventoryItemId: resource === "inventory_moves" ? (firstId("inventory_items") ?? (insert("inventory_items", {}).id as number)) : null,
    };
    for (let i = 0; i < count; i += 1) {
      n += 1;
      const id = next++;
      const at = end - (count - 1 - i) * 1000;
      rows.set(id, { record: templateRecord(resource, id, n, at, context), createdMs: at, updatedMs: at });
    }
    counters.set(resource, n);
    nextIds.set(resource, next);
    touched(resource);
  }

  return {
    insert,
    modify,
    erase,
    addPayment,
    removePayment,
    list,
    seed,
    get: (resource: FakturoidResource, id: number): FakturoidRecord | undefined => table(resource).get(id)?.record,
    all: (resource: FakturoidResource): FakturoidRecord[] => [...table(resource).values()].map((entry) => entry.record),
    remainingCents,
  };
}
