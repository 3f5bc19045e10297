import { PollerBase } from "../../poller-base.js";
import type { PresetResourceConfig } from "../../../config/types.js";
import { parseInstant, wallLowerBound } from "../../../core/time.js";
import type { Transition } from "../../../core/transitions.js";
import type { JsonObject, RecordRef, SourceRecord } from "../../../core/types.js";
import { ForbiddenError, SourceError } from "../../errors.js";
import { FutureStamps, stuckCursorWarning } from "../../future-stamps.js";
import { isInexact } from "../../http/json-body.js";
import { sortProof } from "../../rest/poller.js";
import type { GoneAnswer, Batch, ListMode, ListResult, PassContext, ResourceAssumptions } from "../../source.js";
import { pageOf, type WfirmaApi, type WfirmaModuleSpec } from "./api.js";
import type { WfirmaSourceConfig } from "./config.js";

/** The poller's cursor: the highest `modified` (ms) seen per module, and of the payments followed. */
interface WfirmaCursor {
  modified: Record<string, number>;
  /** Per module that payments pay: the highest `modified` of the payments followed. */
  payments?: Record<string, number>;
}

const PAYMENTS: WfirmaModuleSpec = { module: "payments", branch: "payments", singular: "payment" };

/** Records per request; wFirma's maximum is undocumented, 100 is known to work. */
export const WFIRMA_PAGE = 100;
const WALL = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const ORDER = { "0": { asc: "modified" }, "1": { asc: "id" } };
/** The reverse of ORDER: a find asking it proves (or disproves) that wFirma honours the JSON order. */
const REVERSE = { "0": { desc: "modified" }, "1": { desc: "id" } };

/** Thrown inside a walk when a response breaks key paging's assumptions. */
class AssumptionFailed extends Error {}

/**
 * A wFirma resource: one or more modules (`warehouse_document_*` merge into one resource, `kind`
 * = the module). Each walk is `find` sorted by (`modified`, `id`) and paged by key — the next
 * page asks for `modified ge` the last stamp seen (see `walkByKey`) — so a record edited mid-walk
 * moves behind the walk and is read again instead of shifting a page and being skipped.
 * Incremental walks add `modified ge <cursor − overlap>` (zone-less stamps in the source's
 * `timezone`). `parameters.total` proves each page complete. A response that breaks the
 * assumptions (order, `modified` missing) makes that module fall back to a page-numbered
 * complete scan for this pass, with a warning. Deletions: `{module}/get/{id}` → NOT FOUND.
 */
export class WfirmaPoller extends PollerBase {
  /** Modules whose JSON order a page proved (also a source fact). */
  private readonly proven = new Set<string>();
  /** Modules where wFirma refused the JSON order with INPUT ERROR (also a source fact). */
  private readonly unsupported = new Set<string>();
  /** Modules where wFirma ignored the JSON order (the reverse find answered the same first record; also a source fact). */
  private readonly ignored = new Set<string>();

  constructor(
    private readonly api: WfirmaApi,
    config: PresetResourceConfig,
    private readonly modules: WfirmaModuleSpec[],
    private readonly source: Pick<WfirmaSourceConfig, "timezone" | "overlap">,
    builtIn: Transition[],
  ) {
    super(config, builtIn);
  }

  private get merged(): boolean {
    return this.modules.length > 1;
  }

  createdAt(record: SourceRecord): number | undefined {
    return parseInstant(record.data.created, this.source.timezone);
  }

  /** `modified` ascending, then `id` (the JSON form of `order` is undocumented); pages of 100. */
  readonly assumptions: ResourceAssumptions = {
    cursorField: "modified",
    order: { field: "modified", direction: "asc", documented: false, then: "id" },
    pageSize: WFIRMA_PAGE,
    orderFallback: "a page-numbered walk for that pass (the same conditions, by id), with a warning",
    orderUnproven: "key paging of one page; before a second page one find in the reverse order proves the order, or the module is scanned page by page (also after INPUT ERROR)",
  };

  async *list(mode: ListMode, cursor: unknown, context: PassContext): AsyncGenerator<Batch, ListResult, void> {
    const previous = isCursor(cursor) ? cursor : undefined;
    const next: WfirmaCursor = { modified: { ...previous?.modified }, payments: { ...previous?.payments } };
    const warnings: string[] = [];
    // Cursors never move past the pass's start (plus a tolerance): a record stamped in the future is warned about.
    const future = new FutureStamps(context.clock.now(), this.source.overlap);
    let complete = true;
    for (const spec of this.modules) {
      let since = mode === "incremental" ? previous?.modified[spec.module] : undefined;
      if (future.stuck(since)) {
        warnings.push(stuckCursorWarning(this.resource, since!, context.logger, ` (${spec.module})`));
        since = undefined;
        delete next.modified[spec.module];
      }
      // Around the autumn DST change the overlap widens by the repeated hour (wallLowerBound).
      const sinceWall = since === undefined ? undefined : wallLowerBound(since - this.source.overlap, context.clock.now(), this.source.timezone);
      if (sinceWall !== undefined) complete = false;
      let best = next.modified[spec.module];
      const track = (records: SourceRecord[]): void => {
        for (const record of records) {
          const at = parseInstant(record.data.modified, this.source.timezone);
          const capped = at === undefined ? undefined : future.cap(at, record.id);
          if (capped !== undefined && (best === undefined || capped > best)) best = capped;
        }
      };
      for await (const batch of this.walk(spec, sinceWall, [], warnings, context)) {
        track(batch.records);
        yield batch;
      }
      if (best !== undefined) next.modified[spec.module] = best;
      if (spec.paidBy) {
        // Payments followed from the newest record listed on (a complete scan read every payment before it).
        const followed = mode === "incremental" ? (previous?.payments?.[spec.module] ?? previous?.modified[spec.module]) : undefined;
        const from = followed === undefined ? undefined : Math.min(followed, future.limit);
        if (from !== undefined) yield* this.followPayments(spec, from, next, warnings, context, future);
        else if (best !== undefined && next.payments![spec.module] === undefined) next.payments![spec.module] = best;
      }
    }
    warnings.push(...future.report(this.resource, "modified", context.logger));
    return { cursor: next, complete, warnings };
  }

  /**
   * Key paging, or — where its assumptions fail (a page out of order, `modified` missing, the
   * JSON order refused or ignored) — a page-numbered walk of the same conditions (from
   * `modified ge sinceWall`; without it, the whole module), with a warning.
   */
  private async *walk(spec: WfirmaModuleSpec, sinceWall: string | undefined, only: JsonObject[], warnings: string[], context: PassContext): AsyncGenerator<Batch, void, void> {
    try {
      yield* this.walkByKey(spec, sinceWall, context, only);
    } catch (error) {
      if (!(error instanceof AssumptionFailed)) throw error;
      const instead = sinceWall === undefined && only.length === 0 ? "scanned the module completely instead" : "read what changed page by page instead";
      warnings.push(`${spec.module}: ${error.message}; ${instead}`);
      context.logger.warn({ resource: this.resource, module: spec.module, reason: error.message }, "key paging assumption failed; page-numbered walk instead");
      const conditions = [...(sinceWall === undefined ? [] : [condition("modified", "ge", sinceWall)]), ...only];
      yield* this.walkByPage(spec, context, conditions);
    }
  }

  /**
   * Key paging by (`modified`, `id`) ascending, optionally from `modified ge sinceWall`, with
   * flat AND conditions only (the one JSON form wFirma documents; nesting `or` has none): the
   * next page asks for `modified ge` the last stamp seen, so it repeats the records of that one
   * second already read. A full page of nothing new is a second with more records than a page:
   * those are read by id (`modified eq` + `id gt`), then the walk goes on above that second.
   * The JSON order is undocumented: a walk goes on to a second page only once the order is
   * proven for the module — by a page (`sortProof`), or else by one find in the reverse order
   * (`reverseProof`); an order wFirma ignores makes the walk page-numbered (a fact).
   */
  private async *walkByKey(spec: WfirmaModuleSpec, sinceWall: string | undefined, context: PassContext, only: JsonObject[] = []): AsyncGenerator<Batch, void, void> {
    if (this.orderUnsupported(spec, context)) throw new AssumptionFailed("wFirma refused the JSON order before (INPUT ERROR): key paging is not possible");
    if (this.orderIgnored(spec, context)) throw new AssumptionFailed("wFirma ignores the JSON order of this module (learned before): key paging is not safe");
    let after: { modified: string; id: number } | undefined;
    let ties = false;
    let above: string | undefined;
    for (let request = 0; request < 1_000_000; request += 1) {
      let conditions: JsonObject[] = [];
      let order: JsonObject = ORDER;
      if (ties && after) {
        conditions = [condition("modified", "eq", after.modified), condition("id", "gt", String(after.id))];
        order = { "0": { asc: "id" } };
      } else if (above !== undefined) {
        conditions = [condition("modified", "gt", above)];
      } else if (after) {
        conditions = [condition("modified", "ge", after.modified)];
      } else if (sinceWall !== undefined) {
        conditions = [condition("modified", "ge", sinceWall)];
      }
      above = undefined;
      conditions.push(...only);
      const parameters: JsonObject = { page: "1", limit: String(WFIRMA_PAGE), order };
      if (conditions.length > 0) parameters.conditions = Object.fromEntries(conditions.map((c, i) => [String(i), c]));
      const page = await this.findOrdered(spec, parameters, context);
      const records = this.toRecords(page.records, spec);
      let previous: { modified: string; id: number } | undefined;
      let fresh = 0;
      for (const record of records) {
        const modified = record.data.modified;
        const id = Number(record.id);
        if (typeof modified !== "string" || !WALL.test(modified)) throw new AssumptionFailed(`record ${record.id} has no usable "modified" (${JSON.stringify(modified ?? null)})`);
        if (!Number.isSafeInteger(id)) throw new AssumptionFailed(`record id ${JSON.stringify(record.id)} is not numeric`);
        const key = { modified, id };
        if (previous && !laterKey(key, previous)) throw new AssumptionFailed(`records not sorted by (modified, id) ascending after ${previous.modified} / ${previous.id} (record ${record.id})`);
        if (ties && after && !(modified === after.modified && id > after.id)) {
          throw new AssumptionFailed(`record ${record.id} (${modified}) answered a find for ${after.modified} above id ${after.id}`);
        }
        previous = key;
        if (!after || laterKey(key, after)) fresh += 1;
      }
      if (records.length > 0) yield { records, digest: page.digest };
      if (previous && (!after || laterKey(previous, after))) after = previous;
      const limit = page.limit && page.limit > 0 ? Math.min(page.limit, WFIRMA_PAGE) : WFIRMA_PAGE;
      let last: boolean;
      if (page.total !== undefined) {
        if (records.length < Math.min(limit, page.total)) {
          throw new SourceError(`resource ${this.resource} (${spec.module}/find): ${records.length} records on a page where parameters.total says ${page.total} remain — a page came back short`, "incomplete");
        }
        last = records.length >= page.total;
      } else {
        last = records.length < limit;
      }
      if (records.length === 0) last = true;
      // A page sorted by `modified` against its id order proves the JSON order (kept as a fact,
      // shown by doctor and status); stamps compare as wall text, the zone cancels out.
      if (!ties && sortProof(records, "modified", "UTC", "asc")) await this.orderProven(spec, true, context);
      // A page that looks sorted may be a list in id order that ignored the JSON order: a second
      // page is asked by key only once the order is proven.
      if (!ties && !last && previous && !(await this.orderProven(spec, false, context))) {
        await this.reverseProof(spec, conditions, records[0]!, previous, context);
      }
      if (ties) {
        // That second is read completely: go on above it.
        if (last && after) {
          ties = false;
          above = after.modified;
        }
      } else if (last) {
        return;
      } else if (fresh === 0) {
        ties = true;
      }
    }
    throw new SourceError(`resource ${this.resource} (${spec.module}/find): pagination did not end`, "pagination-loop");
  }

  /**
   * A payment need not touch the record it pays (wFirma does not say it does): new and edited
   * `payments` of this module's records since `from` − overlap, then those records, fetched at
   * once by `id in (…)` so `paid` fires in this pass.
   */
  private async *followPayments(spec: WfirmaModuleSpec, from: number, next: WfirmaCursor, warnings: string[], context: PassContext, future: FutureStamps): AsyncGenerator<Batch, void, void> {
    const ids = new Set<string>();
    let best = from;
    const sinceWall = wallLowerBound(from - this.source.overlap, context.clock.now(), this.source.timezone);
    for await (const batch of this.walk(PAYMENTS, sinceWall, [condition("object_name", "eq", spec.paidBy!)], warnings, context)) {
      for (const { data } of batch.records) {
        const id = data.object_id;
        if ((typeof id === "string" || typeof id === "number") && String(id).trim() !== "") ids.add(String(id));
        const at = parseInstant(data.modified, this.source.timezone);
        if (at !== undefined) best = Math.max(best, future.cap(at, `payment ${String(data.id)}`));
      }
    }
    const list = [...ids];
    for (let i = 0; i < list.length; i += WFIRMA_PAGE) {
      const chunk = list.slice(i, i + WFIRMA_PAGE);
      const order: JsonObject = this.orderUnsupported(spec, context) ? {} : { order: { "0": { asc: "id" } } };
      const page = await this.find(spec, { page: "1", limit: String(WFIRMA_PAGE), ...order, conditions: { "0": condition("id", "in", chunk.join(",")) } }, context);
      const records = this.toRecords(page.records, spec);
      if (records.length > 0) yield { records, digest: page.digest };
    }
    next.payments![spec.module] = best;
  }

  /** Whether the module's `modified` order is proven: before (a fact), or by this page (learned now). */
  private async orderProven(spec: WfirmaModuleSpec, thisPage: boolean, context: PassContext): Promise<boolean> {
    const fact = orderVerifiedFact(spec.module);
    if (this.proven.has(spec.module) || context.facts?.has(fact)) return true;
    if (!thisPage) return false;
    this.proven.add(spec.module);
    context.logger.info({ resource: this.resource, module: spec.module }, "wFirma honours the JSON order for this module (a page sorted by modified against its id order)");
    await context.facts?.learn(fact);
    return true;
  }

  /**
   * One find with the same conditions in the reverse order, one record: where wFirma honours the
   * order it answers the last key of the whole list (at or after the last of the page just read);
   * a list that ignores the order answers its own first record again, whatever was asked. Proven
   * is kept as a fact; ignored too (the module's walks are page-numbered from then on).
   */
  private async reverseProof(spec: WfirmaModuleSpec, conditions: JsonObject[], first: SourceRecord, last: { modified: string; id: number }, context: PassContext): Promise<void> {
    const parameters: JsonObject = { page: "1", limit: "1", order: REVERSE };
    if (conditions.length > 0) parameters.conditions = Object.fromEntries(conditions.map((c, i) => [String(i), c]));
    const top = this.toRecords((await this.findOrdered(spec, parameters, context)).records, spec)[0];
    const topKey = top && typeof top.data.modified === "string" ? { modified: top.data.modified, id: Number(top.id) } : undefined;
    if (top && top.id === first.id) {
      this.ignored.add(spec.module);
      await context.facts?.learn(orderIgnoredFact(spec.module));
      context.logger.warn({ resource: this.resource, module: spec.module }, "wFirma ignores the JSON order for this module (a find in the reverse order answered the same first record); page-numbered walks from now on");
      throw new AssumptionFailed("wFirma ignores the JSON order (a find in the reverse order answered the same first record): key paging is not safe");
    }
    if (topKey && (laterKey(topKey, last) || (topKey.modified === last.modified && topKey.id === last.id))) {
      await this.orderProven(spec, true, context);
      return;
    }
    throw new AssumptionFailed(`the JSON order is not proven: a find in the reverse order answered ${top ? `record ${top.id}` : "nothing"}`);
  }

  private orderIgnored(spec: WfirmaModuleSpec, context: PassContext): boolean {
    return this.ignored.has(spec.module) || (context.facts?.has(orderIgnoredFact(spec.module)) ?? false);
  }

  private orderUnsupported(spec: WfirmaModuleSpec, context: PassContext): boolean {
    return this.unsupported.has(spec.module) || (context.facts?.has(orderUnsupportedFact(spec.module)) ?? false);
  }

  /** A find with an `order`: an `INPUT ERROR` then means the JSON order is not supported (a fact), not a failed pass. */
  private async findOrdered(spec: WfirmaModuleSpec, parameters: JsonObject, context: PassContext) {
    try {
      return await this.find(spec, parameters, context);
    } catch (error) {
      if (!(error instanceof SourceError) || !/INPUT ERROR/i.test(error.message)) throw error;
      this.unsupported.add(spec.module);
      await context.facts?.learn(orderUnsupportedFact(spec.module));
      throw new AssumptionFailed(`wFirma refused the JSON order (INPUT ERROR): not supported, so no key paging`);
    }
  }

  /**
   * The fallback: page numbers over `order id asc` (no order at all where wFirma refused it),
   * with `conditions` (flat, AND); the list must not change while it runs (`total` is checked).
   */
  private async *walkByPage(spec: WfirmaModuleSpec, context: PassContext, conditions: JsonObject[] = []): AsyncGenerator<Batch, void, void> {
    let expected: number | undefined;
    const ids = new Set<string>();
    let previousPage = "";
    const order: JsonObject = this.orderUnsupported(spec, context) ? {} : { order: { "0": { asc: "id" } } };
    for (let page = 1; page < 1_000_000; page += 1) {
      const parameters: JsonObject = { page: String(page), limit: String(WFIRMA_PAGE), ...order };
      if (conditions.length > 0) parameters.conditions = Object.fromEntries(conditions.map((c, i) => [String(i), c]));
      const answer = await this.find(spec, parameters, context);
      const records = this.toRecords(answer.records, spec);
      expected ??= answer.total;
      if (answer.total !== undefined && answer.total !== expected) {
        throw new SourceError(`resource ${this.resource} (${spec.module}/find): the list changed during a page-numbered scan (total ${expected} → ${answer.total}); the next pass retries`, "incomplete");
      }
      const thisPage = records.map((r) => r.id).join(",");
      if (records.length > 0 && thisPage === previousPage) {
        throw new SourceError(`resource ${this.resource} (${spec.module}/find): pagination loop — page ${page} repeats page ${page - 1}`, "pagination-loop");
      }
      previousPage = thisPage;
      for (const record of records) ids.add(record.id);
      const seen = ids.size;
      if (records.length > 0) yield { records, digest: answer.digest };
      const limit = answer.limit && answer.limit > 0 ? answer.limit : WFIRMA_PAGE;
      if (records.length < limit || (expected !== undefined && seen >= expected)) break;
    }
    if (expected !== undefined && ids.size < expected) {
      throw new SourceError(`resource ${this.resource} (${spec.module}/find): listed ${ids.size} records but parameters.total said ${expected}`, "incomplete");
    }
  }

  private async find(spec: WfirmaModuleSpec, parameters: JsonObject, context: PassContext) {
    const path = `/${spec.module}/find`;
    const answer = await this.api.call(path, { [spec.branch]: { parameters } }, context);
    if (!answer.found) throw new SourceError(`resource ${this.resource} (POST ${path}): wFirma answered NOT FOUND to a find`, "vendor-error", { path });
    // The module is part of what the records are (their kind in a merged resource).
    const where = `resource ${this.resource} (POST ${path})`;
    const page = pageOf(answer.body, spec, where);
    // An id beyond 2^53 was rounded by the plain parse: the answer is read again, exactly.
    const exact = page.records.some((record) => isInexact(record.id)) ? pageOf(answer.exactBody(), spec, where) : page;
    return { ...exact, digest: `${spec.module}.${answer.digest}` };
  }

  private toRecords(items: JsonObject[], spec: WfirmaModuleSpec): SourceRecord[] {
    return items.map((data, index) => {
      const id = data.id;
      if ((typeof id !== "string" && typeof id !== "number") || String(id).trim() === "") {
        throw new SourceError(`resource ${this.resource} (${spec.module}/find): record ${index} has no "id"`, "shape");
      }
      return { kind: this.merged ? spec.module : null, id: String(id), data };
    });
  }

  /** `{module}/get/{id}`: NOT FOUND is gone — once the probe (seen in this pass) answered OK. */
  async confirmGone(refs: RecordRef[], probe: RecordRef, context: PassContext): Promise<Map<string, GoneAnswer>> {
    const out = new Map<string, GoneAnswer>();
    const unusable = new Set<string>();
    // `get` is documented for invoices and expenses only: a module without it (ACTION NOT FOUND),
    // or a key that may not use it, leaves deletions to two reconciles instead of failing each one.
    const get = async (ref: RecordRef): Promise<"found" | "missing" | "unusable"> => {
      const module = this.moduleOf(ref);
      if (unusable.has(module)) return "unusable";
      try {
        return (await this.api.call(`/${module}/get/${encodeURIComponent(ref.id)}`, undefined, context)).found ? "found" : "missing";
      } catch (error) {
        if (!(error instanceof ForbiddenError) && !(error instanceof SourceError && error.fault === "vendor-error")) throw error;
        unusable.add(module);
        context.logger.warn({ resource: this.resource, module, err: error.message }, "wFirma get is not usable for this module; deletions wait for a second reconcile");
        return "unusable";
      }
    };
    const probeAnswer = await get(probe);
    if (probeAnswer === "missing") context.logger.warn({ resource: this.resource, probe: probe.id }, "wFirma get answered NOT FOUND for a record seen in this pass; deletions are not confirmed by it");
    for (const ref of refs) {
      const key = `${ref.kind ?? ""}\u001f${ref.id}`;
      // Asked even when the probe was NOT FOUND: a record that answers always vetoes its deletion.
      const answer = probeAnswer === "unusable" ? "unusable" : await get(ref);
      out.set(key, answer === "found" ? "exists" : answer === "missing" && probeAnswer === "found" ? "gone" : "unknown");
    }
    return out;
  }

  private moduleOf(ref: RecordRef): string {
    return (this.modules.find((spec) => spec.module === ref.kind) ?? this.modules[0]!).module;
  }
}

/** (`modified`, `id`) order; zone-less stamps compare as text. */
function laterKey(a: { modified: string; id: number }, b: { modified: string; id: number }): boolean {
  return a.modified > b.modified || (a.modified === b.modified && a.id > b.id);
}

/** Source facts: a page proved the JSON order of a module; wFirma refused it (INPUT ERROR). */
export const orderVerifiedFact = (module: string): string => `wfirma:order-verified:${module}`;
export const orderUnsupportedFact = (module: string): string => `wfirma:order-unsupported:${module}`;
/** Source fact: a find in the reverse order answered the same first record — wFirma ignores the JSON order. */
export const orderIgnoredFact = (module: string): string => `wfirma:order-ignored:${module}`;

function condition(field: string, operator: string, value: string): JsonObject {
  return { condition: { field, operator, value } };
}

function isCursor(value: unknown): value is WfirmaCursor {
  return typeof value === "object" && value !== null && typeof (value as WfirmaCursor).modified === "object" && (value as WfirmaCursor).modified !== null;
}
