import { PollerBase } from "../../poller-base.js";
import type { PresetResourceConfig } from "../../../config/types.js";
import type { Transition } from "../../../core/transitions.js";
import type { RecordRef, SourceRecord } from "../../../core/types.js";
import { formatWall } from "../../../core/time.js";
import { ForbiddenError, SourceError } from "../../errors.js";
import type { HttpClient, HttpRequest, HttpResponse } from "../../http/client.js";
import { recordsAt, responseRecords } from "../../http/records.js";
import type { GoneAnswer, Batch, ListMode, ListResult, PassContext, ResourceAssumptions } from "../../source.js";

/** One FacturaScripts table behind a canonical resource. */
export interface FsTable {
  table: string;
  pk: string;
  /** `logmessages` model name when the model writes the audit log (updates and deletions). */
  model?: string;
  /** Payment rows that may pay records of this table: `pagoclientes` → `reciboclientes` → invoice. */
  payments?: { table: string; receipts: string };
  /**
   * The primary key is a string (clientes.codcliente). FacturaScripts numbers new ones without
   * padding ("9", then "10"), so the highest key as text does not point at the newest rows.
   */
  stringKey?: boolean;
  /**
   * A column set when a row is created (`clientes.fechaalta`, a date) or saved
   * (`productos.actualizado`, a timestamp): incremental passes list the rows with it on or after
   * the day of the highest value seen, instead of keys above the last one.
   */
  since?: string;
}

/** The source fact: the API key may not read `logmessages` (forgotten by `resume`, `reset`, or a re-probe that gets through). */
const NO_LOG_ACCESS = "facturascripts:no-logmessages-access";

/** The source fact: the API key may not read a payment feed (`pagoclientes` or its receipts). */
export function noPaymentAccess(payments: string): string {
  return `facturascripts:no-${payments}-access`;
}

/**
 * What the pollers of one source share: which feeds the key may not read (asked once per source
 * and then once per `reprobe`: every 403 is an IP-ban incident), and the IP ban (429) after
 * which nothing is sent.
 */
export class FsSourceGate {
  /** Denied feeds when no source facts are kept (a poller driven without a pass). */
  private readonly denied = new Map<string, number>();
  private readonly warned = new Set<string>();
  private bannedUntil = 0;
  private banMessage = "";

  constructor(
    private readonly now: () => number,
    /** A denied feed is tried again (one request) after this long. */
    private readonly reprobeMs = 60 * 60_000,
  ) {}

  /** The feed is known to be denied (from an earlier pass or process) and not yet due for a re-probe. */
  feedDenied(fact: string, context: PassContext): boolean {
    const at = context.facts ? context.facts.learnedAt(fact) : this.denied.get(fact);
    return at !== undefined && this.now() - at < this.reprobeMs;
  }

  /** The feed was denied before (a re-probe is due, or `resume` forgot it only in state). */
  wasDenied(fact: string, context: PassContext): boolean {
    return context.facts ? context.facts.has(fact) : this.denied.has(fact);
  }

  logsDenied(context: PassContext): boolean {
    return this.feedDenied(NO_LOG_ACCESS, context);
  }

  /**
   * The key cannot read a feed: remember it for every resource, in state at once (a failing
   * baseline retried or restarted must not add a ban incident each time), warn once.
   */
  async deny(fact: string, context: PassContext, warning: string): Promise<void> {
    this.denied.set(fact, this.now());
    await context.facts?.learn(fact);
    if (this.warned.has(fact)) return;
    this.warned.add(fact);
    context.logger.warn(warning);
  }

  async denyLogs(context: PassContext): Promise<void> {
    await this.deny(NO_LOG_ACCESS, context, `the API key cannot read logmessages: updates and deletions are found by reconcile passes only (grant read access to logmessages, then run retrohook resume; tried again every reprobe)`);
  }

  /** A feed denied before answered: forget the fact (the warning may come again if it is denied again). */
  async allowed(fact: string, context: PassContext): Promise<void> {
    if (!this.wasDenied(fact, context)) return;
    this.denied.delete(fact);
    this.warned.delete(fact);
    await context.facts?.forget(fact);
    context.logger.info({ feed: fact }, "a feed the API key could not read answers again");
  }

  banned(untilMs: number, message: string): void {
    this.bannedUntil = Math.max(this.bannedUntil, untilMs);
    this.banMessage = message;
  }

  /** Throws the ban again instead of sending a request that would only prolong it. */
  check(where: string): void {
    if (this.bannedUntil > this.now()) {
      throw new SourceError(`${where}: not sent — ${this.banMessage}; no request before ${new Date(this.bannedUntil).toISOString()}`, "backoff", { untilMs: this.bannedUntil });
    }
  }
}

/** The poller's cursor: highest key per table, last audit-log id per model, last payment id. */
interface FsCursor {
  keys: Record<string, string | number>;
  /** Per table with a `since` column: the day (`YYYY-MM-DD`) incremental listings start from. */
  since?: Record<string, string>;
  logs: Record<string, number>;
  payments: Record<string, number>;
  /** The key may not read `logmessages`: updates and deletions come from reconciles only. */
  noLogAccess?: boolean;
}

const PAGE = 200;

/**
 * A FacturaScripts resource. Incremental passes ask at most one request per feed when idle:
 * new rows by serial id (`filter[pk_gt]`, sorted, key-paged), updates and deletions from the
 * `logmessages` audit feed by id for models that log, and new payment rows by `idpago` (then the
 * paid invoice is fetched so `paid` fires at once). Reconcile is the safety net and the only way
 * to see changes of models that do not log. Facts: README, "Vendors".
 */
export class FacturaScriptsPoller extends PollerBase {

  constructor(
    private readonly http: HttpClient,
    config: PresetResourceConfig,
    private readonly tables: FsTable[],
    builtIn: Transition[],
    private readonly gate: FsSourceGate = new FsSourceGate(Date.now),
    /** The installation's time zone: today there caps a `since` day taken from the data. */
    private readonly timeZone = "UTC",
  ) {
    super(config, builtIn);
  }

  private get merged(): boolean {
    return this.tables.length > 1;
  }

  /** Key-paged by the serial key (`sort` sent, so the order is the API's own); pages of 200. */
  get assumptions(): ResourceAssumptions {
    const table = this.tables[0]!;
    return {
      cursorField: table.since ?? table.pk,
      order: { field: table.pk, direction: "asc", documented: true },
      pageSize: PAGE,
      orderFallback: "the pass fails (a key listed twice or out of order) and the next one retries",
    };
  }

  createdAt(record: SourceRecord): number | undefined {
    const fecha = record.data.fecha ?? record.data.fechaalta;
    if (typeof fecha !== "string") return undefined;
    const match = /^(\d{2})-(\d{2})-(\d{4})/.exec(fecha);
    return match ? Date.UTC(Number(match[3]), Number(match[2]) - 1, Number(match[1])) : undefined;
  }

  async *list(mode: ListMode, cursor: unknown, context: PassContext): AsyncGenerator<Batch, ListResult, void> {
    const previous = isCursor(cursor) ? cursor : undefined;
    const next: FsCursor = previous ? structuredClone(previous) : { keys: {}, logs: {}, payments: {} };
    const complete = mode === "complete" || !previous;
    for (const table of this.tables) {
      // A feed with no position yet (first pass, or readable again after a denial) gets one
      // before the table is scanned whole: a change logged or paid meanwhile is read by the
      // next incremental pass, and the scan compares every row (a payment made while the feed
      // was denied shows in `pagada`) instead of being skipped.
      const needLog = table.model !== undefined && next.logs[table.model] === undefined && !this.gate.logsDenied(context);
      const needPayments = table.payments !== undefined && next.payments[table.payments.table] === undefined && !this.paymentsDenied(table, context);
      // One row of the table first: a key that may not read the table itself is refused once
      // (one IP-ban incident), not once more for each feed it may not read either.
      if (needLog || needPayments) await this.get({ url: `/${table.table}`, query: { [`sort[${table.pk}]`]: "DESC", limit: "1", offset: "0" } }, context);
      const logStart = needLog ? await this.lastLogId(table.model!, next, context) : undefined;
      const paymentStart = needPayments ? await this.lastPaymentId(table, context) : undefined;
      if (complete || logStart !== undefined || paymentStart !== undefined) {
        yield* this.scanTable(table, undefined, next, context, complete);
      } else {
        // Without a day yet (a cursor of an earlier version) a `since` table is listed whole, once.
        if (table.since) yield* this.scanTable(table, undefined, next, context, false, previous!.since?.[table.table] ?? null);
        // Rows never saved through FacturaScripts have no `since` value (a fresh install's
        // products, an import): new ones are found by key, like the tables without a `since`.
        if (!table.since || (!table.stringKey && previous!.keys[table.table] !== undefined)) yield* this.scanTable(table, previous!.keys[table.table], next, context, false);
        if (table.model && !this.gate.logsDenied(context)) yield* this.followLog(table, next, context);
        if (table.payments && !this.paymentsDenied(table, context)) yield* this.followPayments(table, next, context);
      }
      if (table.model && logStart !== undefined) next.logs[table.model] = logStart;
      if (table.payments && paymentStart !== undefined) next.payments[table.payments.table] = paymentStart;
    }
    if (this.gate.logsDenied(context)) next.noLogAccess = true;
    else delete next.noLogAccess;
    return { cursor: next, complete, warnings: [] };
  }

  private paymentsDenied(table: FsTable, context: PassContext): boolean {
    return table.payments !== undefined && this.gate.feedDenied(noPaymentAccess(table.payments.table), context);
  }

  /**
   * The key may not read the payment feed of `table`: `paid` then comes from the invoice's own
   * `pagada`, seen by reconcile passes (and whenever the invoice is read for another reason).
   */
  private async denyPayments(table: FsTable, feed: string, context: PassContext): Promise<void> {
    const payments = table.payments!;
    await this.gate.deny(
      noPaymentAccess(payments.table),
      context,
      `the API key cannot read ${feed}: paid ${table.table} are found from their own pagada by reconcile passes only (grant read access to ${payments.table} and ${payments.receipts}, then run retrohook resume; tried again every reprobe)`,
    );
  }

  /**
   * Rows with a key above `after` (all rows without), sorted by key, key-paged; with `since` (a
   * day, or null for all rows) the rows whose `since` column is on or after that day.
   */
  private async *scanTable(
    table: FsTable,
    after: string | number | undefined,
    cursor: FsCursor,
    context: PassContext,
    complete: boolean,
    since?: string | null,
  ): AsyncGenerator<Batch, void, void> {
    let last = after;
    let expected: number | undefined;
    let seen = 0;
    // String keys are compared by the database's collation (case-insensitive on MariaDB), not
    // JavaScript's: a key listed twice, not the order, shows the sort or the filter is ignored.
    const listed = table.stringKey ? new Set<string>() : undefined;
    let highestDay: string | undefined;
    for (let guard = 0; guard < 1_000_000; guard += 1) {
      const query: Record<string, string> = { [`sort[${table.pk}]`]: "ASC", limit: String(PAGE), offset: "0" };
      if (since) query[`filter[${table.since}_gte]`] = since;
      if (last !== undefined) query[`filter[${table.pk}_gt]`] = String(last);
      const response = await this.get({ url: `/${table.table}`, query }, context);
      const records = this.recordsOf(response, table);
      if (complete && expected === undefined) expected = totalCount(response);
      seen += records.length;
      for (const record of records) {
        if (listed) {
          if (listed.has(record.id)) throw new SourceError(`resource ${this.resource} (${table.table}): key ${record.id} listed twice — is the sort ignored?`, "pagination-loop");
          listed.add(record.id);
          last = record.id;
        } else {
          const key = Number(record.id);
          if (last !== undefined && !(key > Number(last))) {
            throw new SourceError(`resource ${this.resource} (${table.table}): keys not ascending above ${last} — is the sort ignored?`, "pagination-loop");
          }
          last = key;
        }
        if (table.since) highestDay = laterDay(highestDay, dayOf(record.data[table.since]));
      }
      // The page's rows come from this body alone; the table is part of what they are (their kind).
      if (records.length > 0) yield { records, digest: `${table.table}.${response.digest()}` };
      if (records.length < PAGE) break;
    }
    if (complete && expected !== undefined && seen < expected) {
      throw new SourceError(`resource ${this.resource} (${table.table}): listed ${seen} rows but X-Total-Count said ${expected} — a page went missing`, "incomplete");
    }
    if (last !== undefined && since === undefined) cursor.keys[table.table] = last;
    // A walk by key (rows above `after`) moves the day only by what it listed.
    if (table.since && (highestDay || (after === undefined && (since === undefined || since === null)))) {
      // A value in the future (typed by hand) must not hold back the rows created from today on.
      // Rows that all lack the column (a fresh install's products have no `actualizado`) start
      // the day at today's: a save stamps it, so the next passes list the rows saved from now on
      // instead of the whole table every pass.
      const today = formatWall(context.clock.now(), this.timeZone).slice(0, 10);
      const day = highestDay && highestDay < today ? highestDay : today;
      cursor.since ??= {};
      if (!cursor.since[table.table] || day > cursor.since[table.table]!) cursor.since[table.table] = day;
    }
  }

  /** Updates and deletions logged since the last audit-log id. */
  private async *followLog(table: FsTable, cursor: FsCursor, context: PassContext): AsyncGenerator<Batch, void, void> {
    const model = table.model!;
    let after = cursor.logs[model] ?? 0;
    for (;;) {
      let response: HttpResponse;
      try {
        response = await this.get({ url: "/logmessages", query: { "filter[model]": model, "filter[id_gt]": String(after), "sort[id]": "ASC", limit: String(PAGE), offset: "0" } }, context);
      } catch (error) {
        if (!(error instanceof ForbiddenError)) throw error;
        // Asking again would add IP-ban incidents: remember it and rely on reconciles.
        cursor.noLogAccess = true;
        await this.gate.denyLogs(context);
        return;
      }
      await this.gate.allowed(NO_LOG_ACCESS, context);
      const entries = recordsAt(response.body, undefined, `resource ${this.resource} (logmessages)`);
      const updated = new Set<string>();
      const deleted = new Set<string>();
      for (const entry of entries) {
        const id = Number(entry.id);
        if (!Number.isFinite(id) || id <= after) throw new SourceError(`resource ${this.resource} (logmessages): ids not ascending above ${after}`, "pagination-loop");
        after = id;
        const code = entry.modelcode === undefined || entry.modelcode === null ? undefined : String(entry.modelcode);
        if (!code) continue;
        // Levels, not the translated message texts: `warning` is a deletion, `info` an update.
        if (entry.level === "warning") {
          deleted.add(code);
          updated.delete(code);
        } else {
          updated.add(code);
          deleted.delete(code);
        }
      }
      if (updated.size > 0) yield { records: await this.fetchRows(table, [...updated], context) };
      if (deleted.size > 0) yield { records: [], deleted: await this.confirmDeleted(table, [...deleted], context) };
      cursor.logs[model] = after;
      if (entries.length < PAGE) return;
    }
  }

  /** New payment rows → their invoices, fetched at once so `paid` fires in this pass. */
  private async *followPayments(table: FsTable, cursor: FsCursor, context: PassContext): AsyncGenerator<Batch, void, void> {
    const payments = table.payments!;
    let after = cursor.payments[payments.table] ?? 0;
    for (;;) {
      const response = await this.feedGet(table, payments.table, { url: `/${payments.table}`, query: { "filter[idpago_gt]": String(after), "sort[idpago]": "ASC", limit: String(PAGE), offset: "0" } }, context);
      if (!response) return;
      const rows = recordsAt(response.body, undefined, `resource ${this.resource} (${payments.table})`);
      if (rows.length === 0) return;
      let last = after;
      for (const row of rows) {
        const id = Number(row.idpago);
        if (!Number.isFinite(id) || id <= last) throw new SourceError(`resource ${this.resource} (${payments.table}): ids not ascending above ${last}`, "pagination-loop");
        last = id;
      }
      const receiptIds = [...new Set(rows.map((row) => row.idrecibo).filter((id) => id !== undefined && id !== null).map(String))];
      const invoiceIds = new Set<string>();
      for (const receiptId of receiptIds) {
        // Denied receipts: the payment cursor stays where it was, so these payments are read
        // again once the key may read them (resume or a re-probe).
        const receipts = await this.feedGet(table, payments.receipts, { url: `/${payments.receipts}`, query: { [`filter[idrecibo]`]: receiptId, limit: "1", "sort[idrecibo]": "ASC" } }, context);
        if (!receipts) return;
        for (const receipt of recordsAt(receipts.body, undefined, `resource ${this.resource} (${payments.receipts})`)) {
          if (receipt.idfactura !== undefined && receipt.idfactura !== null) invoiceIds.add(String(receipt.idfactura));
        }
      }
      if (invoiceIds.size > 0) yield { records: await this.fetchRows(table, [...invoiceIds], context) };
      after = last;
      cursor.payments[payments.table] = after;
      if (rows.length < PAGE) return;
    }
  }

  /** The list representation of given rows (fingerprints come from lists, never detail GETs). */
  private async fetchRows(table: FsTable, ids: string[], context: PassContext): Promise<SourceRecord[]> {
    const out: SourceRecord[] = [];
    for (const id of ids) {
      const response = await this.get({ url: `/${table.table}`, query: { [`filter[${table.pk}]`]: id, [`sort[${table.pk}]`]: "ASC", limit: "1", offset: "0" } }, context);
      out.push(...this.recordsOf(response, table));
    }
    return out;
  }

  /** A logged deletion is believed once the single-record GET answers "not found". */
  private async confirmDeleted(table: FsTable, ids: string[], context: PassContext): Promise<RecordRef[]> {
    const gone: RecordRef[] = [];
    for (const id of ids) {
      const response = await this.get({ url: `/${table.table}/${encodeURIComponent(id)}`, allow: [404, 400] }, context);
      if (response.status === 400 && !isNotFound(response)) throw new SourceError(`resource ${this.resource} (GET ${response.path}): HTTP 400 ${JSON.stringify(response.body).slice(0, 200)}`, "http", { status: 400, path: response.path });
      if (isNotFound(response)) gone.push({ kind: this.merged ? table.table : null, id });
    }
    return gone;
  }

  async confirmGone(refs: RecordRef[], probe: RecordRef, context: PassContext): Promise<Map<string, GoneAnswer>> {
    const out = new Map<string, GoneAnswer>();
    const tableOf = (ref: RecordRef): FsTable => this.tables.find((t) => t.table === ref.kind) ?? this.tables[0]!;
    const check = await this.get({ url: `/${tableOf(probe).table}/${encodeURIComponent(probe.id)}`, allow: [404, 400] }, context);
    const probeOk = check.status >= 200 && check.status < 300;
    for (const ref of refs) {
      const key = `${ref.kind ?? ""}\u001f${ref.id}`;
      // Asked even when the probe failed: a 2xx for the record always vetoes its deletion.
      const response = await this.get({ url: `/${tableOf(ref).table}/${encodeURIComponent(ref.id)}`, allow: [404, 400] }, context);
      out.set(key, response.status >= 200 && response.status < 300 ? "exists" : probeOk && isNotFound(response) ? "gone" : "unknown");
    }
    return out;
  }

  private async lastLogId(model: string, cursor: FsCursor, context: PassContext): Promise<number | undefined> {
    try {
      const response = await this.get({ url: "/logmessages", query: { "filter[model]": model, "sort[id]": "DESC", limit: "1", offset: "0" } }, context);
      const [entry] = recordsAt(response.body, undefined, `resource ${this.resource} (logmessages)`);
      await this.gate.allowed(NO_LOG_ACCESS, context);
      return entry ? Number(entry.id) || 0 : 0;
    } catch (error) {
      if (!(error instanceof ForbiddenError)) throw error;
      cursor.noLogAccess = true;
      await this.gate.denyLogs(context);
      return undefined;
    }
  }

  /** The highest payment id, or undefined when the key may not read the feed. */
  private async lastPaymentId(table: FsTable, context: PassContext): Promise<number | undefined> {
    const feed = table.payments!.table;
    const response = await this.feedGet(table, feed, { url: `/${feed}`, query: { "sort[idpago]": "DESC", limit: "1", offset: "0" } }, context);
    if (!response) return undefined;
    const [row] = recordsAt(response.body, undefined, `resource ${this.resource} (${feed})`);
    return row ? Number(row.idpago) || 0 : 0;
  }

  /** A request to the payment feed of `table`: undefined (and the fact learned) on a 403. */
  private async feedGet(table: FsTable, feed: string, request: HttpRequest, context: PassContext): Promise<HttpResponse | undefined> {
    const fact = noPaymentAccess(table.payments!.table);
    try {
      const response = await this.get(request, context);
      await this.gate.allowed(fact, context);
      return response;
    } catch (error) {
      if (!(error instanceof ForbiddenError)) throw error;
      await this.denyPayments(table, feed, context);
      return undefined;
    }
  }

  /** Every request of this source's pollers: none while the IP is banned. */
  private get(request: HttpRequest, context: PassContext): Promise<HttpResponse> {
    this.gate.check(`resource ${this.resource} (GET ${request.url})`);
    return this.http.request(request, context.signal);
  }

  private recordsOf(response: HttpResponse, table: FsTable): SourceRecord[] {
    const where = `resource ${this.resource} (${response.path})`;
    return responseRecords(response, undefined, table.pk, this.merged ? table.table : null, where).records;
  }
}

/** `YYYY-MM-DD` of a FacturaScripts date or timestamp (`dd-mm-YYYY[ HH:MM:SS]`, or ISO). */
function dayOf(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const european = /^(\d{2})-(\d{2})-(\d{4})/.exec(value);
  if (european) return `${european[3]}-${european[2]}-${european[1]}`;
  return /^\d{4}-\d{2}-\d{2}/.exec(value)?.[0];
}

function laterDay(a: string | undefined, b: string | undefined): string | undefined {
  return a === undefined || (b !== undefined && b > a) ? b : a;
}

function isCursor(value: unknown): value is FsCursor {
  return typeof value === "object" && value !== null && "keys" in value && "logs" in value;
}

function totalCount(response: HttpResponse): number | undefined {
  const header = response.headers["x-total-count"];
  const value = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(value) && header !== undefined ? value : undefined;
}

/**
 * A detail GET's "record not found": 404 since late 2024; before (e.g. 2024.96) HTTP 400 with
 * `record-not-found`. Any other 400 is not taken as proof that the record is gone.
 */
export function isNotFound(response: HttpResponse): boolean {
  if (response.status === 404) return true;
  return response.status === 400 && JSON.stringify(response.body ?? "").includes("record-not-found");
}
