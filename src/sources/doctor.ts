import type { Clock } from "../clock.js";
import type { SourceConfig } from "../config/types.js";
import { getPath } from "../core/fingerprint.js";
import { parseInstant } from "../core/time.js";
import { refKey, type SourceRecord } from "../core/types.js";
import type { Logger } from "../telemetry/logger.js";
import { AuthError, ForbiddenError, SourceError } from "./errors.js";
import { createSource } from "./registry.js";
import { sortProof } from "./rest/poller.js";
import type { ResourceAssumptions, ResourcePoller, SourceFacts } from "./source.js";

/**
 * `retrohook doctor`: each resource's assumptions checked live against the vendor, with the
 * requests counted. Per resource: the first page of a complete listing (a preset may need a few
 * requests before it, e.g. an audit log's position) and, when the resource confirms deletions by
 * a single-record GET, that GET for a record just listed. Nothing is written to state.
 */

/** One checked assumption: what was found, and what retrohook does about it. */
export interface DoctorCheck {
  check: "reachable" | "permission" | "order honoured" | "cursor field" | "page size" | "deletion check";
  finding: string;
  action: string;
  ok: boolean;
}

export interface DoctorResource {
  resource: string;
  requests: number;
  checks: DoctorCheck[];
}

export interface DoctorSource {
  source: string;
  kind: string;
  requests: number;
  resources: DoctorResource[];
}

/**
 * Refusals (401/403) a check may draw in all before the remaining resources are left unchecked:
 * FacturaScripts bans an IP after 5 within 10 minutes, and one resource may draw up to two.
 */
const REFUSALS_BEFORE_STOP = 2;

export async function doctorSource(config: SourceConfig, base: { clock: Clock; logger: Logger }): Promise<DoctorSource> {
  let requests = 0;
  let refusals = 0;
  const source = createSource(config, base, {
    beforeRequest: () => {
      requests += 1;
    },
    afterResponse: (response) => {
      if (response.status === 401 || response.status === 403) refusals += 1;
    },
  });
  const out: DoctorSource = { source: config.name, kind: "preset" in config ? `preset ${config.preset}` : "rest", requests: 0, resources: [] };
  let stop: string | undefined;
  // What the pollers learn (a feed the key may not read), kept for this run only: asked once per source.
  const facts = memoryFacts(base.clock);
  try {
    for (const poller of source.pollers) {
      if (!stop && refusals >= REFUSALS_BEFORE_STOP) stop = `not checked: the vendor refused ${refusals} requests already (FacturaScripts bans an IP after 5 refusals in 10 minutes)`;
      if (stop) {
        out.resources.push({ resource: poller.resource, requests: 0, checks: [{ check: "reachable", finding: stop, action: "run doctor again after fixing the access above", ok: false }] });
        continue;
      }
      const before = requests;
      const checks = await checkResource(poller, base, facts);
      out.resources.push({ resource: poller.resource, requests: requests - before, checks });
      if (checks.some((c) => c.check === "permission" && /401/.test(c.finding))) stop = "not checked: the credentials were refused (401)";
    }
  } finally {
    source.close();
  }
  out.requests = requests;
  return out;
}

async function checkResource(poller: ResourcePoller, base: { clock: Clock; logger: Logger }, facts: SourceFacts & { names(): string[] }): Promise<DoctorCheck[]> {
  const assumptions: ResourceAssumptions = poller.assumptions ?? {};
  const context = { clock: base.clock, logger: base.logger, facts };
  const known = new Set(facts.names());
  const checks: DoctorCheck[] = [];
  let records: SourceRecord[] = [];
  const listing = poller.list("complete", undefined, context);
  try {
    const first = await listing.next();
    if (!first.done) records = first.value.records;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof AuthError) {
      checks.push({ check: "reachable", finding: "yes", action: "-", ok: true });
      checks.push({ check: "permission", finding: `refused (401): ${message}`, action: "the source is suspended at the first pass; fix the credentials, then retrohook resume", ok: false });
    } else if (error instanceof ForbiddenError) {
      checks.push({ check: "reachable", finding: "yes", action: "-", ok: true });
      checks.push({ check: "permission", finding: `refused (403): ${message}`, action: "the resource is suspended at the first pass (re-probed every `reprobe`); grant read access, then retrohook resume", ok: false });
    } else {
      checks.push({ check: "reachable", finding: `no: ${message}`, action: error instanceof SourceError ? `the pass fails (${error.fault}) and is retried with back-off` : "the pass fails and is retried", ok: false });
    }
    return checks;
  } finally {
    await listing.return(undefined as never).catch(() => undefined);
  }
  checks.push({ check: "reachable", finding: `yes (${records.length} records on the first page)`, action: "-", ok: true });
  // Facts about access (`…:no-<feed>-access`); others (an order proven) are not about permission.
  const learned = facts.names().filter((name) => !known.has(name) && /access/.test(name));
  checks.push(
    learned.length === 0
      ? { check: "permission", finding: "granted for the list", action: "feeds a key may not read are warned about once and learned (retrohook status)", ok: true }
      : { check: "permission", finding: `list granted; learned ${learned.join(", ")}`, action: "the resource keeps flowing, degraded (docs/vendors); grant access, then retrohook resume", ok: false },
  );
  checks.push(orderCheck(records, assumptions));
  checks.push(cursorCheck(records, assumptions));
  checks.push(pageCheck(records, assumptions));
  checks.push(await deletionCheck(poller, records, context));
  return checks;
}

function orderCheck(records: SourceRecord[], assumptions: ResourceAssumptions): DoctorCheck {
  const order = assumptions.order;
  if (!order) return { check: "order honoured", finding: "no order assumed", action: "walks are repeated when the list moves under them, where the preset needs it", ok: true };
  const label = `${order.field} ${order.direction === "desc" ? "descending" : "ascending"}${order.then ? `, then ${order.then}` : ""} (${order.documented ? "documented" : "undocumented"})`;
  if (records.length < 2) return { check: "order honoured", finding: `${label}: not checkable with ${records.length} record`, action: order.documented ? "relied on" : (assumptions.orderUnproven ?? assumptions.orderFallback ?? "checked on every page"), ok: true };
  const values = records.map((record) => orderValue(getPath(record.data, order.field)));
  let sorted = true;
  for (let i = 1; i < values.length && sorted; i += 1) {
    const [a, b] = [values[i - 1], values[i]];
    if (a === undefined || b === undefined) sorted = false;
    else if (order.direction === "desc" ? a < b : a > b) sorted = false;
  }
  if (!sorted) return { check: "order honoured", finding: `${label}: NOT honoured on the first page`, action: assumptions.orderFallback ?? "a complete scan for that pass, with a warning", ok: false };
  if (order.documented) return { check: "order honoured", finding: `${label}: sorted on the first page`, action: "relied on (still checked on every page)", ok: true };
  // Zone-less stamps compare as wall text: the zone cancels out of an order check.
  const proven = sortProof(records, order.field, "UTC", order.direction);
  return proven
    ? { check: "order honoured", finding: `${label}: proven (sorted, and not in id order)`, action: "relied on once a pass proves it too", ok: true }
    : { check: "order honoured", finding: `${label}: sorted, but also in id order: not proven by this page`, action: assumptions.orderUnproven ?? assumptions.orderFallback ?? "checked on every page", ok: true };
}

function orderValue(raw: unknown): number | string | undefined {
  if (typeof raw === "number") return raw;
  if (typeof raw !== "string" || raw.trim() === "") return undefined;
  if (/^-?\d+$/.test(raw.trim())) return Number(raw);
  // Zone-less stamps compare as text in their own zone; the zone cancels out of an order check.
  return parseInstant(raw, "UTC") ?? raw;
}

function cursorCheck(records: SourceRecord[], assumptions: ResourceAssumptions): DoctorCheck {
  const field = assumptions.cursorField;
  if (!field) return { check: "cursor field", finding: "none (every pass is a complete scan)", action: "-", ok: true };
  if (records.length === 0) return { check: "cursor field", finding: `${field}: no records to check`, action: "the first pass that sees records is the baseline", ok: true };
  const missing = records.filter((record) => {
    const value = getPath(record.data, field);
    return value === undefined || value === null || value === "";
  });
  if (missing.length === 0) return { check: "cursor field", finding: `${field} on ${records.length}/${records.length} records`, action: "incremental passes follow it", ok: true };
  return {
    check: "cursor field",
    finding: `${field} missing on ${missing.length}/${records.length} records (e.g. ${missing[0]!.id})`,
    action: "such records are found by key or by reconciles; an order check that needs the field falls back to a complete scan",
    ok: false,
  };
}

function pageCheck(records: SourceRecord[], assumptions: ResourceAssumptions): DoctorCheck {
  const size = assumptions.pageSize;
  if (size === undefined) return { check: "page size", finding: `${records.length} records on the first page (the vendor decides)`, action: "pages until an empty or short page", ok: true };
  if (records.length >= size) return { check: "page size", finding: `${size} asked, ${records.length} answered: honoured`, action: "pages of that size", ok: true };
  return { check: "page size", finding: `${size} asked, ${records.length} answered (the whole list, or a silent cap)`, action: "a cap is learned from the responses (a following non-empty page, a total count)", ok: true };
}

async function deletionCheck(poller: ResourcePoller, records: SourceRecord[], context: { clock: Clock; logger: Logger }): Promise<DoctorCheck> {
  if (!poller.confirmGone) return { check: "deletion check", finding: "no single-record GET", action: "a record is deleted once two consecutive reconciles miss it", ok: true };
  const probe = records[0];
  if (!probe) return { check: "deletion check", finding: "single-record GET: not checkable without a record", action: "checked at the first reconcile that misses a record", ok: true };
  const ref = { kind: probe.kind, id: probe.id };
  const answer = (await poller.confirmGone([ref], ref, context)).get(refKey(ref));
  if (answer === "exists") return { check: "deletion check", finding: `single-record GET answers for record ${probe.id}`, action: "a not-found there confirms a deletion at the reconcile", ok: true };
  if (answer === "trashed") return { check: "deletion check", finding: `single-record GET answers for record ${probe.id} (the vendor has a trash)`, action: "deleted once two consecutive complete listings miss it (data.reason says so)", ok: true };
  return { check: "deletion check", finding: `single-record GET does not answer for listed record ${probe.id}`, action: "deletions wait for two consecutive reconciles that miss the record", ok: false };
}

/** Source facts in memory (doctor writes nothing to state). */
function memoryFacts(clock: Clock): SourceFacts & { names(): string[] } {
  const facts = new Map<string, number>();
  return {
    has: (name) => facts.has(name),
    learnedAt: (name) => facts.get(name),
    learn: async (name) => void facts.set(name, clock.now()),
    forget: async (name) => void facts.delete(name),
    names: () => [...facts.keys()],
  };
}
