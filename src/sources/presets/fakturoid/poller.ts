import { PollerBase } from "../../poller-base.js";
import type { PresetResourceConfig } from "../../../config/types.js";
import { formatIsoWithOffset, parseInstant } from "../../../core/time.js";
import type { Transition } from "../../../core/transitions.js";
import type { JsonObject, RecordRef, Snapshot, SourceRecord } from "../../../core/types.js";
import { refKey } from "../../../core/types.js";
import { SourceError } from "../../errors.js";
import type { HttpClient, HttpResponse } from "../../http/client.js";
import { responseRecords } from "../../http/records.js";
import type { GoneAnswer, Batch, ListMode, ListResult, PassContext, ResourceAssumptions } from "../../source.js";
import type { RateLimitGuard } from "./rate-limit.js";
import type { FakturoidSourceConfig } from "./config.js";

/**
 * Fakturoid's documented page size (no `per_page`, no total, no Link header): only a first guess.
 * The size in use is taken from the responses (a page followed by a non-empty one was full).
 */
export const FAKTUROID_PAGE = 40;
/** A walk of several pages is repeated until it shows nothing it should have seen before; at most this often. */
const MAX_WALKS = 3;

/** One list page: its records, the digest of its bytes and where in them the records are. */
type Page = Required<Pick<Batch, "records" | "digest">> & Pick<Batch, "origin">;
/** Records updated less than this before a walk began may still be moving: they never demand another walk. */
const SKEW_MS = 60_000;

/** A Fakturoid endpoint behind a canonical resource. */
export interface FakturoidEndpoint {
  /** List path under /accounts/{slug}: `/expenses.json`. */
  list: string;
  /** Detail path with `{id}` (and `{parent}` for nested records). */
  detail: string;
  /** For nested records: the field of the record that fills `{parent}`. */
  parentField?: string;
  /**
   * Where the records that left `list` by being archived are listed (`/inventory_items/archived.json`):
   * read by complete passes, so an archived record is neither taken for a deleted one (and probed
   * at every reconcile) nor left unreported.
   */
  archived?: string;
  /**
   * Deleted records go to the trash (invoices, expenses), and whether a trashed record's detail
   * GET answers 404 is undocumented: a 2xx for a record missing from a complete listing is then
   * `trashed` (deleted once missing from two consecutive complete listings), not a veto.
   */
  trash?: boolean;
}

/**
 * A Fakturoid resource. Incremental passes ask `updated_since = cursor − overlap` (ISO 8601 with
 * the zone's offset; the client encodes its `+`), complete passes ask without it; both walk
 * pages of 40 until a short page. The list order is undocumented and the list moves while it
 * is walked, so:
 * - a walk of one page is a single answer: nothing can move under it (the usual idle pass);
 * - a walk of several pages is walked again, and again while a repeat turns up a record that
 *   was already there (updated before the first walk began) but had not been seen — the trace
 *   of a page boundary shifting under the walk (a deletion, or a reorder). Up to three walks;
 *   a third that still finds such records fails the pass ("incomplete": no cursor move, no
 *   deletions). Records changed during the walk need no repeat: the next pass re-reads them;
 * - the cursor is the newest `updated_at` seen, but never later than the moment the pass
 *   began, so the overlap re-reads anything changed while the pass ran, however long it took.
 * Deletions: a detail GET answering 404 (inventory moves: nested under their item). Invoices and
 * expenses go to a trash whose detail GET may still answer: missing from two consecutive complete
 * listings then deletes them, with the reason in the event.
 */
export class FakturoidPoller extends PollerBase {
  /** Parent ids of nested records seen by this process, for deletions when no snapshot is given. */
  private readonly parents = new Map<string, string>();
  /** The page size the responses showed (the longest page, or a page followed by a non-empty one); 40 until then. */
  private pageSize = FAKTUROID_PAGE;

  constructor(
    private readonly http: HttpClient,
    private readonly guard: RateLimitGuard,
    config: PresetResourceConfig,
    private readonly endpoint: FakturoidEndpoint,
    private readonly source: Pick<FakturoidSourceConfig, "timezone" | "overlap">,
    builtIn: Transition[],
  ) {
    super(config, builtIn);
  }

  createdAt(record: SourceRecord): number | undefined {
    return parseInstant(record.data.created_at, this.source.timezone);
  }

  /** `updated_at` for `updated_since`; no order assumed; pages of the size the responses show. */
  get assumptions(): ResourceAssumptions {
    return { cursorField: "updated_at", pageSize: this.pageSize };
  }

  async *list(mode: ListMode, cursor: unknown, context: PassContext): AsyncGenerator<Batch, ListResult, void> {
    const previous = typeof cursor === "number" && Number.isFinite(cursor) ? cursor : undefined;
    const passStart = context.clock.now();
    const query: Record<string, string> = {};
    if (mode === "incremental" && previous !== undefined) query.updated_since = formatIsoWithOffset(previous - this.source.overlap, this.source.timezone);
    let newest: number | undefined;
    const seen = new Set<string>();
    for (let walk = 1; ; walk += 1) {
      let pages = 0;
      let missed = 0;
      for await (const { records, digest, origin } of this.pagesOf(this.endpoint.list, query, context)) {
        pages += 1;
        for (const record of records) {
          const updated = parseInstant(record.data.updated_at, this.source.timezone);
          if (updated !== undefined && (newest === undefined || updated > newest)) newest = updated;
          if (!seen.has(record.id) && walk > 1 && (updated === undefined || updated < passStart - SKEW_MS)) missed += 1;
          seen.add(record.id);
          this.remember(record);
        }
        if (records.length > 0) yield { records, digest, origin };
      }
      if (walk === 1 && pages === 1) break;
      if (walk > 1 && missed === 0) break;
      if (walk > 1) context.logger.warn({ resource: this.resource, walk, missed }, "records appeared that an earlier walk skipped (the list moved under it); walking again");
      if (walk >= MAX_WALKS) {
        throw new SourceError(`resource ${this.resource}: the list kept moving under ${MAX_WALKS} walks (${missed} records skipped by the last one); the next pass retries`, "incomplete");
      }
    }
    if (this.endpoint.archived && (mode === "complete" || previous === undefined)) {
      for await (const { records, digest, origin } of this.pagesOf(this.endpoint.archived, {}, context)) {
        if (records.length > 0) yield { records, digest: `archived.${digest}`, origin };
      }
    }
    // Nothing listed yet: the pass's start (minus the overlap, as ever) is where the next one asks from,
    // so an empty list is not walked completely — archived list included — on every pass.
    const capped = newest === undefined ? (previous ?? passStart) : Math.min(newest, passStart);
    return { cursor: previous === undefined ? capped : Math.max(previous, capped ?? previous), complete: mode === "complete" || previous === undefined, warnings: [] };
  }

  /**
   * Every page of one walk of `url` (empty ones too), until an empty page or a short one; a page
   * repeating the one before is a loop. Short means under the page size the responses showed:
   * the longest page seen, or a page followed by a non-empty one (which was full); the
   * documented 40 until then.
   */
  private async *pagesOf(url: string, query: Record<string, string>, context: PassContext): AsyncGenerator<Page, void, void> {
    let lastIds = "";
    let lastLength = 0;
    for (let page = 1; ; page += 1) {
      const answer = await this.fetchPage({ ...query, page: String(page) }, context, url);
      const length = answer.records.length;
      const ids = answer.records.map((r) => r.id).join(",");
      if (length > 0 && ids === lastIds) throw new SourceError(`resource ${this.resource}: pagination loop — page ${page} of ${url} repeats page ${page - 1}`, "pagination-loop");
      lastIds = ids;
      yield answer;
      if (length === 0) return;
      if (lastLength > 0) this.pageSize = lastLength;
      if (length > this.pageSize) this.pageSize = length;
      lastLength = length;
      if (length < this.pageSize) return;
      if (page >= 100_000) throw new SourceError(`resource ${this.resource}: pagination did not end`, "pagination-loop");
    }
  }

  /** A page's records come from its body alone: its digest stands for them (page marks). */
  private async fetchPage(query: Record<string, string>, context: PassContext, url: string): Promise<Page> {
    const response = await this.guard.request(this.http, { url, query }, context.signal);
    const where = `resource ${this.resource} (${response.path})`;
    const { records, exact } = responseRecords(response, undefined, "id", null, where);
    // Ids beyond 2^53 read exactly are not the bytes' plain parse: no baseline from the bytes then.
    return exact ? { records, digest: response.digest() } : { records, digest: response.digest(), origin: { bytes: response.bytes, transferable: true } };
  }

  private remember(record: SourceRecord): void {
    const field = this.endpoint.parentField;
    if (!field) return;
    const parent = record.data[field];
    if (typeof parent === "number" || typeof parent === "string") this.parents.set(record.id, String(parent));
  }

  /**
   * Detail GET → 404 is gone, once the probe (a record seen in this pass) answered 2xx. Nested
   * records need their parent id: from `snapshots` (refKey → last snapshot) when the pipeline
   * passes them, else from records this process listed; unknown otherwise (the pipeline then
   * waits for a second reconcile that misses the record).
   */
  async confirmGone(refs: RecordRef[], probe: RecordRef, context: PassContext, snapshots?: Map<string, Snapshot>): Promise<Map<string, GoneAnswer>> {
    const out = new Map<string, GoneAnswer>();
    const probeResponse = await this.detail(probe, snapshots, context);
    const probeOk = probeResponse !== undefined && probeResponse.status >= 200 && probeResponse.status < 300;
    if (!probeOk) context.logger.warn({ resource: this.resource, status: probeResponse?.status }, "detail URL did not answer 2xx for a record seen in this pass; deletions are not confirmed by it");
    for (const ref of refs) {
      // Asked even when the probe failed: a 2xx for the record always vetoes its deletion.
      const response = await this.detail(ref, snapshots, context);
      const answers = response !== undefined && response.status >= 200 && response.status < 300;
      out.set(refKey(ref), response === undefined ? "unknown" : answers ? (this.endpoint.trash ? "trashed" : "exists") : probeOk && response.status === 404 ? "gone" : "unknown");
    }
    return out;
  }

  private async detail(ref: RecordRef, snapshots: Map<string, Snapshot> | undefined, context: PassContext): Promise<HttpResponse | undefined> {
    let path = this.endpoint.detail.replace("{id}", encodeURIComponent(ref.id));
    if (path.includes("{parent}")) {
      const parent = this.parents.get(ref.id) ?? parentFromSnapshot(snapshots?.get(refKey(ref)), this.endpoint.parentField!);
      if (parent === undefined) return undefined;
      path = path.replace("{parent}", encodeURIComponent(parent));
    }
    return this.guard.request(this.http, { url: path, allow: [404] }, context.signal);
  }
}

function parentFromSnapshot(snapshot: Snapshot | undefined, field: string): string | undefined {
  if (!snapshot || !snapshot.json) return undefined;
  try {
    const value = (JSON.parse(snapshot.json) as JsonObject)[field];
    return typeof value === "number" || typeof value === "string" ? String(value) : undefined;
  } catch {
    return undefined;
  }
}
