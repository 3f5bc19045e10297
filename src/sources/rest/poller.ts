import { PollerBase } from "../poller-base.js";
import { getPath } from "../../core/fingerprint.js";
import type { Transition } from "../../core/transitions.js";
import { formatCursorStamp, parseInstant } from "../../core/time.js";
import type { JsonObject, JsonValue, RecordRef, SourceRecord } from "../../core/types.js";
import type { RestResourceConfig, RestSourceConfig } from "../../config/types.js";
import { SourceError } from "../errors.js";
import { FutureStamps, stuckCursorWarning } from "../future-stamps.js";
import type { HttpClient, HttpResponse } from "../http/client.js";
import { responseRecords } from "../http/records.js";
import type { GoneAnswer, Batch, ListMode, ListResult, PassContext, ResourceAssumptions, ResourcePoller } from "../source.js";

/**
 * The generic REST poller: records at a path, one of three cursor modes (a parameter, a list
 * sorted descending, serial ids) or none, and page / offset / next-link / no pagination.
 * The cursor it keeps is a number: ms since epoch for time cursors (never past the pass's start
 * plus a tolerance), the highest id for ids (its digits as a string above 2^53).
 */
export interface RestPollerOptions {
  /** Built-in transitions of a preset (paid…), before the user's. */
  builtIn?: Transition[];
  /** A vendor error reported inside a 2xx body; its message, or undefined when the body is fine. */
  bodyError?: (body: unknown) => string | undefined;
  /** Whether a single-record GET answer means "not found". Default: HTTP 404 or 410. */
  isNotFound?: (response: HttpResponse) => boolean;
  /**
   * The vendor's sort (`cursor.order: desc`) is not documented for this endpoint: incremental
   * passes scan completely until a page proves the sort, i.e. is sorted by the cursor field
   * descending in an order that is not its id order (a list that ignores the sort and lists by
   * id can look sorted by chance). `verified` is the source fact learned then; `unverified` is
   * learned while no proof is in (shown by `status`).
   */
  orderProof?: { verified: string; unverified: string };
  /** Confirms deletions instead of the `get` template (e.g. a detail path found at run time). */
  confirmGone?: ResourcePoller["confirmGone"];
}

export class RestPoller extends PollerBase {
  readonly confirmGone?: ResourcePoller["confirmGone"];
  /** The page size the vendor really answers, when it caps `pagination.size` silently. */
  private cappedSize?: number;
  /** A page of `pagination.size` records was seen: the vendor honours it (no probe needed). */
  private sizeHonoured = false;
  /** A page proved the vendor's sort (see `orderProof`). */
  private orderProven = false;

  constructor(
    private readonly http: HttpClient,
    private readonly config: RestResourceConfig,
    private readonly source: Pick<RestSourceConfig, "timezone" | "overlap">,
    private readonly options: RestPollerOptions = {},
  ) {
    super(config, [...(config.paid ? [{ event: "paid", anyOf: [config.paid] }] : []), ...(options.builtIn ?? [])]);
    if (options.confirmGone) this.confirmGone = options.confirmGone;
    else if (config.get) this.confirmGone = (refs, probe, context) => confirmByGet(this.http, config.get!, refs, probe, context, options.isNotFound);
  }

  get assumptions(): ResourceAssumptions {
    const cursor = this.config.cursor;
    const pagination = this.config.pagination;
    const pageSize = pagination.style === "page" || pagination.style === "offset" ? (this.cappedSize ?? pagination.size) : undefined;
    const order: ResourceAssumptions["order"] =
      cursor?.order === "desc" ? { field: cursor.field, direction: "desc", documented: this.options.orderProof === undefined }
      : cursor?.type === "id" ? { field: cursor.field, direction: "asc", documented: true }
      : undefined;
    return {
      ...(cursor ? { cursorField: cursor.field } : {}),
      ...(order ? { order } : {}),
      ...(pageSize !== undefined ? { pageSize } : {}),
      orderFallback: this.options.orderProof ? "complete scans until a page proves the order" : "a complete scan for that pass, with a warning",
    };
  }

  get orderedByChange(): boolean {
    return this.config.cursor?.order === "desc";
  }

  createdAt(record: SourceRecord): number | undefined {
    return this.config.created_field ? parseInstant(getPath(record.data, this.config.created_field), this.source.timezone) : undefined;
  }

  async *list(mode: ListMode, cursor: unknown, context: PassContext): AsyncGenerator<Batch, ListResult, void> {
    const future = new FutureStamps(context.clock.now(), this.source.overlap);
    const result = yield* this.listWith(mode, cursor, context, future);
    return { ...result, warnings: [...result.warnings, ...future.report(this.resource, this.config.cursor?.field ?? "", context.logger)] };
  }

  private async *listWith(mode: ListMode, cursor: unknown, context: PassContext, future: FutureStamps): AsyncGenerator<Batch, ListResult, void> {
    const cursorConfig = this.config.cursor;
    const byId = cursorConfig?.type === "id";
    const previous = byId ? storedId(cursor) : typeof cursor === "number" ? cursor : undefined;
    if (mode === "complete" || !cursorConfig || previous === undefined) {
      return yield* this.scan({}, previous, context, future);
    }
    if (!byId && future.stuck(previous as number)) {
      const warning = stuckCursorWarning(this.resource, previous as number, context.logger);
      const full = yield* this.scan({}, undefined, context, future);
      return { ...full, warnings: [warning] };
    }
    if (cursorConfig.order === "desc" && !this.sortProven(context)) {
      const proof = this.options.orderProof!;
      const warning = `resource ${this.resource}: the vendor's sort by "${cursorConfig.field}" is not verified for this endpoint yet (no page has shown it apart from the id order); scanning completely until one does`;
      if (!context.facts?.has(proof.unverified)) {
        context.logger.warn({ resource: this.resource }, "sort not verified for this endpoint; complete scans until a page proves it");
        await context.facts?.learn(proof.unverified);
      }
      const full = yield* this.scan({}, previous, context, future);
      return { ...full, warnings: [warning, ...full.warnings] };
    }
    if (cursorConfig.order === "desc") {
      const warnings: string[] = [];
      const outcome = yield* this.descending(previous as number, context, warnings, future);
      if (outcome) return outcome;
      context.logger.warn({ resource: this.resource, reason: warnings[0] }, "cursor assumption failed; scanning completely");
      const full = yield* this.scan({}, previous, context, future);
      return { ...full, warnings };
    }
    const param = cursorConfig.param!;
    if (byId) return yield* this.byKey(param, idValue(previous)!, context);
    const since = this.formatCursor((previous as number) - this.source.overlap);
    const result = yield* this.scan({ [param]: since }, previous, context, future);
    return { ...result, complete: false };
  }

  /** Every page of the list with the given extra query; the cursor is the highest value seen. */
  private async *scan(extra: Record<string, string>, previous: number | string | undefined, context: PassContext, future: FutureStamps): AsyncGenerator<Batch, ListResult, void> {
    let best = previous;
    const complete = Object.keys(extra).length === 0;
    const pages = this.pages(extra, context, complete);
    for (let step = await pages.next(); ; step = await pages.next()) {
      if (step.done) {
        const doubt = step.value;
        if (doubt) context.logger.warn({ resource: this.resource, doubt }, "the listing may be incomplete; no deletion is confirmed by it");
        return { cursor: best, complete, warnings: doubt ? [`resource ${this.resource}: ${doubt} — no deletion is confirmed by this listing`] : [], ...(doubt ? { doubt } : {}) };
      }
      best = this.maxCursor(step.value.records, best, future);
      await this.checkSort(step.value.records, context);
      yield step.value;
    }
  }

  /** Sorted by the cursor field descending: page until records are older than cursor − overlap. */
  private async *descending(previous: number, context: PassContext, warnings: string[], future: FutureStamps): AsyncGenerator<Batch, ListResult | undefined, void> {
    const field = this.config.cursor!.field;
    const threshold = previous - this.source.overlap;
    let last = Number.POSITIVE_INFINITY;
    let best = previous;
    for await (const page of this.pages({}, context)) {
      let reachedOld = false;
      for (const record of page.records) {
        const value = parseInstant(getPath(record.data, field), this.source.timezone);
        if (value === undefined) {
          warnings.push(`record ${record.id} has no usable "${field}"`);
          return undefined;
        }
        if (value > last) {
          warnings.push(`list not sorted by "${field}" descending (record ${record.id})`);
          return undefined;
        }
        last = value;
        best = Math.max(best, future.cap(value, record.id));
        if (value < threshold) reachedOld = true;
      }
      await this.checkSort(page.records, context);
      yield page;
      if (reachedOld) break;
    }
    return { cursor: best, complete: false, warnings };
  }

  /** Serial ids: ask for ids greater than the last one seen, page by page (key paging). */
  private async *byKey(param: string, previous: bigint, context: PassContext): AsyncGenerator<Batch, ListResult, void> {
    const pagination = this.config.pagination;
    let after = previous;
    for (let requests = 0; ; requests += 1) {
      const query: Record<string, string> = { [param]: String(after) };
      if (pagination.style === "page") {
        query[pagination.page_param] = String(pagination.first_page);
        if (pagination.size_param) query[pagination.size_param] = String(pagination.size);
      } else if (pagination.style === "offset") {
        query[pagination.offset_param] = "0";
        query[pagination.limit_param] = String(pagination.size);
      }
      const page = await this.fetchPage(query, context);
      const records = page.records;
      let previousId = after;
      for (const record of records) {
        const id = idValue(getPath(record.data, this.config.cursor!.field));
        if (id === undefined || id <= previousId) {
          throw new SourceError(`${this.where()}: ids not strictly ascending above ${after} (record ${record.id}) — sort the list by "${this.config.cursor!.field}" ascending`, "shape");
        }
        previousId = id;
      }
      if (records.length > 0) yield page;
      after = previousId;
      const size = "size" in pagination ? pagination.size : undefined;
      if (records.length === 0 || size === undefined || records.length < size || pagination.style === "next" || pagination.style === "none") break;
      if (requests > 1_000_000) throw new SourceError(`${this.where()}: pagination did not end`, "pagination-loop");
    }
    return { cursor: storedId(after), complete: false, warnings: [] };
  }

  /** Pages of records in list order, with loop detection; returns why the listing may be incomplete. */
  private async *pages(extra: Record<string, string>, context: PassContext, completeScan = false): AsyncGenerator<Batch, string | undefined, void> {
    const pagination = this.config.pagination;
    if (pagination.style === "none") {
      yield await this.fetchPage(extra, context);
      return undefined;
    }
    if (pagination.style === "next") {
      const seen = new Set<string>();
      let next: string | undefined;
      for (;;) {
        const response = await this.get(next && !isUrl(next) && pagination.token_param ? { ...extra, [pagination.token_param]: next } : extra, context, next && isUrl(next) ? next : undefined);
        yield this.pageOf(response);
        const following = getPath(response.body as JsonObject, pagination.next);
        if (following === undefined || following === null || following === "") return undefined;
        next = String(following);
        if (seen.has(next)) throw new SourceError(`${this.where()}: pagination loop — next "${next.split("?")[0]}" was already visited`, "pagination-loop");
        seen.add(next);
      }
    }
    let previousSignature = "";
    let largest = 0;
    // A vendor may cap the page size silently (asked 100, answers 50): a short page is then no
    // end. The cap is learned (for this and later passes) from a total-count header or `next` link
    // that disagrees, an echoed limit, or — in complete scans — a probe of the next page.
    const sized = pagination.style === "offset" || pagination.size_param !== undefined;
    let size = sized ? (this.cappedSize ?? pagination.size) : pagination.size;
    let listed = 0;
    let total: number | undefined;
    const queryFor = (index: number, offset: number): Record<string, string> => {
      const query: Record<string, string> = { ...extra };
      if (pagination.style === "page") {
        query[pagination.page_param] = String(pagination.first_page + index);
        if (pagination.size_param) query[pagination.size_param] = String(size);
      } else {
        query[pagination.offset_param] = String(offset);
        query[pagination.limit_param] = String(size);
      }
      return query;
    };
    // Complete scans read every page anyway: the next one is fetched while this one is processed.
    const prefetch = completeScan && sized;
    let next: Promise<ListedPage> | undefined;
    for (let index = 0; ; index += 1) {
      const current = next ?? this.fetchListed(queryFor(index, listed), context);
      next = undefined;
      const page = await current;
      const records = page.records;
      if (index === 0) total = page.total;
      if (records.length === 0) break;
      if (!sized) size = Math.max(largest, records.length);
      else if (records.length >= pagination.size) this.sizeHonoured = true;
      if (sized && records.length < size) {
        const capped = page.linkNext || (page.total !== undefined && listed + records.length < page.total) || (page.limit !== undefined && page.limit < size && page.limit === records.length);
        if (capped) {
          size = this.learnCap(records.length, context);
        } else if (completeScan && index === 0 && !this.sizeHonoured && page.total === undefined) {
          const probe = await this.fetchListed(queryFor(1, records.length), context);
          // The same records again: the API ignores the paging parameters — the short page was the end.
          if (probe.records.length > 0 && probe.records[0]!.id !== records[0]!.id) {
            size = this.learnCap(records.length, context);
            next = Promise.resolve(probe);
          }
        }
      }
      if (prefetch && !next && records.length >= size) {
        next = this.fetchListed(queryFor(index + 1, listed + records.length), context);
        next.catch(() => undefined); // observed when awaited; a pass abandoned early must not leave it unhandled
      }
      const signature = `${records.length}:${records[0]!.id}:${records[records.length - 1]!.id}`;
      if (signature === previousSignature) {
        throw new SourceError(`${this.where()}: pagination loop — page ${index + 1} repeats the previous page`, "pagination-loop");
      }
      previousSignature = signature;
      largest = Math.max(largest, records.length);
      listed += records.length;
      yield { records: page.records, ...(page.digest !== undefined ? { digest: page.digest } : {}), ...(page.origin ? { origin: page.origin } : {}) };
      if (records.length < size && !next) break;
    }
    if (total !== undefined && listed < total) {
      return `listed ${listed} records but the vendor's total count says ${total}`;
    }
    return undefined;
  }

  /** Whether the `desc` cursor may page back to the cursor: no proof needed, or a page gave it. */
  private sortProven(context: PassContext): boolean {
    const proof = this.options.orderProof;
    if (!proof || this.orderProven) return true;
    this.orderProven = context.facts?.has(proof.verified) ?? false;
    return this.orderProven;
  }

  /** A page sorted by the cursor field descending whose ids run neither up nor down proves the sort. */
  private async checkSort(records: SourceRecord[], context: PassContext): Promise<void> {
    const proof = this.options.orderProof;
    if (!proof || this.orderProven || this.config.cursor?.order !== "desc" || !sortProof(records, this.config.cursor.field, this.source.timezone)) return;
    this.orderProven = true;
    context.logger.info({ resource: this.resource }, "the vendor's sort is verified for this endpoint (a page sorted by it is not in id order); incremental passes page back to the cursor");
    await context.facts?.learn(proof.verified);
    await context.facts?.forget(proof.unverified);
  }

  /** The vendor answers fewer records per page than `pagination.size`: pages of that many from now on. */
  private learnCap(answered: number, context: PassContext): number {
    if (this.cappedSize !== answered) {
      context.logger.warn({ resource: this.resource, asked: this.config.pagination.style === "none" || this.config.pagination.style === "next" ? undefined : this.config.pagination.size, answered }, "the vendor caps the page size silently; reading pages of the size it answers (set pagination.size to it)");
    }
    this.cappedSize = answered;
    return answered;
  }

  /** A page with what its response says about the list: a total count, a `next` link, the limit applied. */
  private async fetchListed(query: Record<string, string>, context: PassContext): Promise<ListedPage> {
    const response = await this.get(query, context);
    return { ...this.pageOf(response), ...listFacts(response) };
  }

  private async fetchPage(query: Record<string, string>, context: PassContext): Promise<Batch> {
    return this.pageOf(await this.get(query, context));
  }

  /** A page's records come from its body alone: the body's digest stands for them. */
  private pageOf(response: HttpResponse): Batch {
    const path = this.config.records;
    const { records, exact } = this.recordsOf(response);
    // Records read exactly (ids beyond 2^53) are not the bytes' plain parse: no baseline from the bytes.
    if (exact) return { records, digest: response.digest() };
    // The response's bytes serve this page alone: the store may take them.
    return { records, digest: response.digest(), origin: { bytes: response.bytes, ...(path === undefined ? {} : { path }), transferable: true } };
  }

  private get(query: Record<string, string>, context: PassContext, url?: string): Promise<HttpResponse> {
    return this.http.request({ url: url ?? this.config.path, query: url ? {} : { ...this.config.query, ...query } }, context.signal);
  }

  private recordsOf(response: HttpResponse): { records: SourceRecord[]; exact: boolean } {
    const where = `${this.where()} (${response.path})`;
    const vendorError = this.options.bodyError?.(response.body);
    if (vendorError !== undefined) throw new SourceError(`${where}: the vendor answered with an error: ${vendorError}`, "vendor-error");
    const cursor = this.config.cursor;
    return responseRecords(response, this.config.records, this.config.id, null, where, cursor?.type === "id" ? [cursor.field] : [], true);
  }

  private maxCursor(records: SourceRecord[], best: number | string | undefined, future: FutureStamps): number | string | undefined {
    const cursor = this.config.cursor;
    if (!cursor) return best;
    if (cursor.type === "id") {
      let highest = idValue(best);
      for (const record of records) {
        const value = idValue(getPath(record.data, cursor.field));
        if (value !== undefined && (highest === undefined || value > highest)) highest = value;
      }
      return highest === undefined ? best : storedId(highest);
    }
    let latest = typeof best === "number" ? best : undefined;
    for (const record of records) {
      const value = parseInstant(getPath(record.data, cursor.field), this.source.timezone);
      if (value === undefined || !Number.isFinite(value)) continue;
      const capped = future.cap(value, record.id);
      if (latest === undefined || capped > latest) latest = capped;
    }
    return latest;
  }

  private formatCursor(ms: number): string {
    return formatCursorStamp(ms, this.config.cursor!.format, this.source.timezone);
  }

  private where(): string {
    return `resource ${this.resource}`;
  }
}

/** A serial id as a whole number, exactly (ids above 2^53 arrive as their digits). */
function idValue(raw: JsonValue | unknown): bigint | undefined {
  if (typeof raw === "number") return Number.isSafeInteger(raw) ? BigInt(raw) : undefined;
  if (typeof raw === "bigint") return raw;
  if (typeof raw === "string" && /^-?\d+$/.test(raw.trim())) return BigInt(raw.trim());
  return undefined;
}

/**
 * A page proves a sort by `field` (descending unless `direction` says otherwise) when it is so
 * sorted, with at least two distinct stamps, and its ids go up somewhere and down somewhere: a
 * list in id order (either way), which ignored the sort, cannot give that. Every preset whose
 * sort is undocumented proves it this way (docs/decisions/0016).
 */
export function sortProof(records: SourceRecord[], field: string, timeZone: string, direction: "asc" | "desc" = "desc"): boolean {
  let up = false;
  let down = false;
  let distinct = false;
  const sign = direction === "desc" ? 1 : -1;
  for (let i = 1; i < records.length; i += 1) {
    const before = parseInstant(getPath(records[i - 1]!.data, field), timeZone);
    const after = parseInstant(getPath(records[i]!.data, field), timeZone);
    if (before === undefined || after === undefined || sign * (after - before) > 0) return false;
    if (after !== before) distinct = true;
    const a = idValue(records[i - 1]!.id);
    const b = idValue(records[i]!.id);
    const order = a !== undefined && b !== undefined ? (a < b ? -1 : a > b ? 1 : 0) : records[i - 1]!.id < records[i]!.id ? -1 : records[i - 1]!.id > records[i]!.id ? 1 : 0;
    if (order < 0) up = true;
    if (order > 0) down = true;
  }
  return distinct && up && down;
}

/** An id cursor as stored: a number while exact, else its digits. */
function storedId(value: bigint | unknown): number | string | undefined {
  const id = typeof value === "bigint" ? value : idValue(value);
  if (id === undefined) return undefined;
  return id <= BigInt(Number.MAX_SAFE_INTEGER) && id >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(id) : id.toString();
}

interface ListedPage extends Batch {
  /** A total-count header (`X-Total-Count`, `X-Total`, `Total-Count`). */
  total?: number;
  /** A `Link: <…>; rel="next"` header. */
  linkNext?: boolean;
  /** The page size the vendor says it applied (`limit`, `per_page`… at the top of the body, or under `meta` / `pagination`). */
  limit?: number;
}

const LIMIT_KEYS = ["limit", "per_page", "perPage", "page_size", "pageSize"];

function listFacts(response: HttpResponse): Pick<ListedPage, "total" | "linkNext" | "limit"> {
  const header = (name: string): string | undefined => {
    const value = response.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const count = (text: unknown): number | undefined => (typeof text === "number" && Number.isSafeInteger(text) ? text : typeof text === "string" && /^\d+$/.test(text.trim()) ? Number(text) : undefined);
  const total = count(header("x-total-count") ?? header("x-total") ?? header("total-count"));
  const linkNext = /rel="?next"?/i.test(header("link") ?? "");
  let limit: number | undefined;
  const body = response.body;
  if (body && typeof body === "object" && !Array.isArray(body)) {
    for (const scope of [body as JsonObject, (body as JsonObject).meta, (body as JsonObject).pagination]) {
      if (!scope || typeof scope !== "object" || Array.isArray(scope)) continue;
      for (const key of LIMIT_KEYS) limit ??= count(scope[key]);
    }
  }
  return { ...(total !== undefined ? { total } : {}), ...(linkNext ? { linkNext } : {}), ...(limit !== undefined ? { limit } : {}) };
}

function isUrl(text: string): boolean {
  return /^https?:\/\//i.test(text) || text.startsWith("/");
}

/**
 * Confirms deletions with a single-record URL template. The probe (a record seen in this pass)
 * must answer 2xx first, so a wrong template can never confirm anything.
 */
export async function confirmByGet(
  http: HttpClient,
  template: string,
  refs: RecordRef[],
  probe: RecordRef,
  context: PassContext,
  isNotFound: (response: HttpResponse) => boolean = (r) => r.status === 404 || r.status === 410,
): Promise<Map<string, GoneAnswer>> {
  const out = new Map<string, GoneAnswer>();
  const url = (ref: RecordRef): string => template.replace("{id}", encodeURIComponent(ref.id));
  const check = await http.request({ url: url(probe), allow: [404, 410] }, context.signal);
  const probeOk = check.status >= 200 && check.status < 300 && !isNotFound(check);
  for (const ref of refs) {
    const key = `${ref.kind ?? ""}\u001f${ref.id}`;
    // Asked even when the probe failed: a 2xx for the record always vetoes its deletion.
    const response = await http.request({ url: url(ref), allow: [404, 410] }, context.signal);
    const exists = response.status >= 200 && response.status < 300 && !isNotFound(response);
    out.set(key, exists ? "exists" : probeOk && isNotFound(response) ? "gone" : "unknown");
  }
  if (!probeOk) context.logger.warn({ status: check.status }, "single-record URL did not answer 2xx for a record that exists; deletions are not confirmed by it");
  return out;
}
