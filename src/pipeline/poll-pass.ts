import { createHash, randomBytes } from "node:crypto";
import type { Clock } from "../clock.js";
import type { SourceConfig, StartMode } from "../config/types.js";
import { detectChanges, detectDeletions, isSilentBaseline, type Detection, type DetectRules } from "../core/detect.js";
import { pageUnchanged } from "../core/page-marks.js";
import { passBoundExceeded, passBounds, type PassBounds } from "../core/pass-bounds.js";
import { parseInstant } from "../core/time.js";
import { packageVersion } from "../version.js";
import { refKey, type EventEnvelope, type RecordRef, type Snapshot, type SourceRecord } from "../core/types.js";
import { StateError } from "../errors.js";
import { AuthError, ForbiddenError, SourceError } from "../sources/errors.js";
import { TRASHED_REASON, type Batch, type ListMode, type ListResult, type ResourcePoller, type Source, type SourceFacts, type SourceSecrets } from "../sources/source.js";
import { PASS_LISTED_LIMIT, type Delivery, type PageMarks, type PassEntry, type ResourceId, type ResourceState, type StateStore, type Suspension } from "../store/store.js";
import { registerSecrets, scrub, type Logger } from "../telemetry/logger.js";
import { boundedBackoffUntil, boundStoredBackoff } from "./backoff.js";
import type { BudgetGate } from "./budget.js";
import { crashPoint } from "../testing/fault-injection.js";
import { ListedKeys } from "./listed-keys.js";
import { routeEvents, routingOutcomes, type RouteEvent, type RoutingOutcome } from "./route-events.js";

export type PassMode = "incremental" | "reconcile";

export interface PassDeps {
  store: StateStore;
  clock: Clock;
  logger: Logger;
  /** Target names an event goes to, or its full routing (fixed when it is written to the outbox). */
  route: RouteEvent;
  /** Targets routing filtered out or dead-lettered (an expression failed), per outbox write. */
  onRouting?: (outcomes: RoutingOutcome[]) => void;
  /** Called with the deliveries each outbox write created (wakes the dispatcher). */
  onEnqueued?: (deliveries: Delivery[]) => void;
  /** Called with every event newly written to the outbox, in order (dry-run prints them). */
  onEvents?: (events: EventEnvelope[]) => void;
  /** Events a later pass (and one stopped before it) staged, dropped past a bound (a counter). */
  onDropped?: (id: ResourceId, count: number) => void;
  /**
   * What `onEvents` reads of an event: all of it (`whole`, the default: dry-run prints it) or its
   * labels only (`labels`: the counters). A later pass holds its events until it released them;
   * with `labels` it holds them without their `data`, so a pass changing many records does not
   * keep every changed record in memory until it ends.
   */
  eventsTold?: "whole" | "labels";
  /** Records baselined and deletions awaiting confirmation are reported here (dry-run: stderr). */
  onNotice?: (message: string) => void;
  /** Request budgets by source name. */
  budgets?: Map<string, BudgetGate>;
  /** Scheduled passes are paced by the budget (skipped ticks); `once` only stops when it is spent. */
  paced?: boolean;
}

export interface PassOutcome {
  source: string;
  resource: string;
  mode: PassMode;
  ok: boolean;
  /** Not run: suspended, backing off, or out of budget. */
  blocked?: boolean;
  records: number;
  events: number;
  baselined: number;
  deleted: number;
  held?: number;
  warnings: string[];
  error?: string;
  /** Why it failed (SourceError fault, "state", "internal"). */
  cause?: string;
}

/** One pass over every resource of a source; a 401 stops the source, a 403 only its resource. */
export async function runSourcePass(deps: PassDeps, source: Source, config: SourceConfig, mode: PassMode): Promise<PassOutcome[]> {
  const outcomes: InternalOutcome[] = [];
  const now = deps.clock.now();
  const sourceState = await boundStoredBackoff(deps.store, config, (await deps.store.getSourceState(config.name)) ?? {}, now, deps.logger.child({ source: config.name }));
  const hash = configHash(config);
  const probing = sourceState.suspended !== undefined && sourceState.suspended.configHash === hash && probeDue(sourceState.suspended, config, now);
  const blockedBy =
    sourceState.suspended && sourceState.suspended.configHash === hash && !probing
      ? `source suspended since ${sourceState.suspended.at}: ${sourceState.suspended.reason} (${suspensionAdvice(config.name, undefined, "fix the credentials")})`
    : sourceState.backoffUntil && Date.parse(sourceState.backoffUntil) > now ? `backing off until ${sourceState.backoffUntil}: ${sourceState.backoffReason ?? "vendor asked to wait"}`
    : undefined;
  if (blockedBy) {
    return source.pollers.map((poller) => ({ ...emptyOutcome(config.name, poller.resource, mode), ok: false, blocked: true, error: blockedBy }));
  }
  const budget = deps.budgets?.get(config.name);
  if (budget?.limited) {
    const decision = await budget.allowPass(mode, deps.paced ?? false);
    if (!decision.run) {
      if (deps.paced && !/spent/.test(decision.reason)) {
        deps.logger.debug({ source: config.name, mode, reason: decision.reason }, "tick skipped by the request budget");
        return [];
      }
      return source.pollers.map((poller) => ({ ...emptyOutcome(config.name, poller.resource, mode), ok: false, blocked: true, error: decision.reason }));
    }
  }
  budget?.startPass();
  const passStarted = deps.clock.now();
  if (probing) {
    deps.logger.info({ source: config.name }, "source suspended: trying again (automatic re-probe)");
  } else if (sourceState.suspended) {
    deps.logger.info({ source: config.name }, "config changed: lifting the source suspension");
    delete sourceState.suspended;
    await deps.store.putSourceState(config.name, sourceState);
  }
  const facts = sourceFacts(deps.store, deps.clock, config.name, sourceState.facts);
  const secrets = sourceSecrets(deps.store, config.name, sourceState.secrets);
  for (const poller of source.pollers) {
    const outcome = await runResourcePass(deps, config, poller, mode, facts, secrets);
    outcomes.push(outcome);
    if (outcome.error && (outcome.authFailed || outcome.backedOff)) {
      const rest = source.pollers.slice(source.pollers.indexOf(poller) + 1);
      const why = outcome.authFailed ? "source suspended (authentication failed)" : "source backing off (the vendor asked to wait)";
      for (const skipped of rest) outcomes.push({ ...emptyOutcome(config.name, skipped.resource, mode), ok: false, blocked: true, error: why });
      break;
    }
  }
  if (probing && !outcomes.some((outcome) => outcome.authFailed)) {
    // The probe got through: the credentials work again.
    const current = (await deps.store.getSourceState(config.name)) ?? {};
    delete current.suspended;
    await deps.store.putSourceState(config.name, current);
    deps.logger.info({ source: config.name }, "source suspension lifted: the credentials work again");
  }
  for (const outcome of outcomes) {
    delete outcome.authFailed;
    delete outcome.backedOff;
  }
  await budget?.finishPass(mode, passStarted);
  return outcomes;
}

interface InternalOutcome extends PassOutcome {
  authFailed?: boolean;
  backedOff?: boolean;
}

/** The source's facts, each stored in its source state as soon as it is learned or forgotten. */
function sourceFacts(store: StateStore, clock: Clock, source: string, known: Record<string, string> = {}): SourceFacts {
  const facts = new Map(Object.entries(known).map(([name, at]) => [name, Date.parse(at)]));
  return {
    has: (name) => facts.has(name),
    learnedAt: (name) => facts.get(name),
    async learn(name) {
      const at = clock.now();
      facts.set(name, at);
      const state = (await store.getSourceState(source)) ?? {};
      state.facts = { ...state.facts, [name]: new Date(at).toISOString() };
      await store.putSourceState(source, state);
    },
    async forget(name) {
      if (!facts.delete(name)) return;
      const state = (await store.getSourceState(source)) ?? {};
      if (state.facts) delete state.facts[name];
      await store.putSourceState(source, state);
    },
  };
}

/** The source's secrets (a rotated refresh token), each stored in its source state before it is used. */
function sourceSecrets(store: StateStore, source: string, known: Record<string, string> = {}): SourceSecrets {
  const values = new Map(Object.entries(known));
  registerSecrets(values.values());
  return {
    get: (name) => values.get(name),
    async keep(name, value) {
      registerSecrets([value]);
      values.set(name, value);
      const state = (await store.getSourceState(source)) ?? {};
      state.secrets = { ...state.secrets, [name]: value };
      await store.putSourceState(source, state);
    },
  };
}

/** Default of a source's `reprobe`: a suspension is tried again (one request) after an hour. */
export const REPROBE_MS = 60 * 60_000;

/** A suspension is tried again once `reprobe` has passed since it began or was last probed. */
function probeDue(suspension: Suspension, config: SourceConfig, now: number): boolean {
  return now - Date.parse(suspension.probedAt ?? suspension.at) >= (config.reprobe ?? REPROBE_MS);
}

export async function runResourcePass(deps: PassDeps, config: SourceConfig, poller: ResourcePoller, mode: PassMode, facts?: SourceFacts, secrets?: SourceSecrets): Promise<InternalOutcome> {
  const { store, clock, logger } = deps;
  const id: ResourceId = { source: config.name, resource: poller.resource };
  const outcome: InternalOutcome = emptyOutcome(config.name, poller.resource, mode);
  const log = logger.child({ source: config.name, resource: poller.resource, mode });
  const state: ResourceState = (await store.getResourceState(id)) ?? { generation: randomBytes(6).toString("hex"), initialized: false };
  const resourceConfig = config.resources.find((r) => r.name === poller.resource);
  const resourceHash = configHash({ source: configHash(config), resource: resourceConfig });
  let probed: Suspension | undefined;

  if (state.suspended) {
    if (state.suspended.configHash !== resourceHash) {
      log.info("config changed: lifting the resource suspension");
      delete state.suspended;
    } else if (probeDue(state.suspended, config, clock.now())) {
      // One try: a refusal suspends again at its first request, a success lifts the suspension.
      log.info("resource suspended: trying again (automatic re-probe)");
      probed = state.suspended;
      delete state.suspended;
    } else {
      return { ...outcome, ok: false, blocked: true, error: `resource suspended since ${state.suspended.at}: ${state.suspended.reason} (${suspensionAdvice(config.name, poller.resource, "grant access")})` };
    }
  }

  const firstRun = !state.initialized;
  const listMode: ListMode = firstRun || mode === "reconcile" || state.cursor === undefined ? "complete" : "incremental";
  const detectedAt = new Date(clock.now()).toISOString();
  const { typePrefix, ignoreFields, transitions } = poller.rules;
  const rules: DetectRules = { source: config.name, resource: poller.resource, typePrefix, ignoreFields, transitions };
  const context = {
    epoch: store.epoch,
    generation: state.generation,
    detectedAt,
    announceNew: firstRun ? firstPassPolicy(startPolicy(resourceConfig?.start ?? config.start, poller, config.timezone), poller, state.awaitingRecords) : () => true,
  };
  const seen = listMode === "complete" ? new ListedKeys() : undefined;
  const journal = passJournal(detectedAt, mode, listMode, firstRun);
  let probe: RecordRef | undefined;
  // Pages whose bytes were compared before, with no record changed since, are not compared
  // again (docs/decisions/0007-page-marks.md). A digest counts only under the same config and
  // the same retrohook version (which decide how a body becomes records).
  const pageTag = configHash({ resource: resourceHash, version: packageVersion() });
  let marks: PageMarks | undefined;
  const compared = new Map<string, number>();
  // A first pass over a resource with nothing stored finds snapshots only of records it wrote
  // itself (a record listed twice): it reads just those.
  const writtenNow = firstRun && !(await store.hasSnapshots(id)) ? new ListedKeys() : undefined;
  // Any other pass stages its events (and journals the snapshots it changes) until it ends: one
  // that fails at a bound keeps nothing of itself (docs/decisions/0014).
  const staged = writtenNow === undefined;
  // What such a pass detected is told (metrics, `once --dry-run`) once it reached the outbox.
  const told = staged ? toldOnRelease(deps) : undefined;
  const passDeps = told?.deps ?? deps;
  const readSnapshots = async (records: SourceRecord[], keys: string[]): Promise<Map<string, Snapshot>> => {
    if (!writtenNow) return store.getSnapshots(id, records);
    const again = records.filter((_, index) => writtenNow.has(keys[index]!));
    return again.length > 0 ? store.getSnapshots(id, again) : new Map();
  };
  crashPoint("pass:start");

  const bounds = passBounds({ pages: resourceConfig?.max_pass_pages ?? config.max_pass_pages, records: resourceConfig?.max_pass_records ?? config.max_pass_records }, state.lastComplete);
  let pages = 0;

  /** Compares and commits every batch of one listing, fetching the next page meanwhile. */
  const consume = async (iterator: AsyncGenerator<Batch, ListResult, void>): Promise<ListResult> => {
    let step = await iterator.next();
    while (!step.done) {
      const batch = step.value;
      pages += 1;
      const exceeded = passBoundExceeded({ pages, records: outcome.records + batch.records.length }, bounds);
      if (exceeded) {
        void iterator.return(undefined as never).catch(() => undefined);
        throw passBoundError(config, poller.resource, exceeded, bounds, resourceConfig !== undefined && resourceConfig[exceeded === "pages" ? "max_pass_pages" : "max_pass_records"] !== undefined);
      }
      // The next page is fetched while this one is compared and written.
      const next = iterator.next();
      next.catch(() => undefined); // awaited below; a failure here must not be an unhandled rejection
      crashPoint("pass:after-fetch");
      outcome.records += batch.records.length;
      const keys = batch.records.map(refKey);
      if (seen) for (const key of keys) seen.add(key);
      else journal.listed(keys);
      probe ??= batch.records[0];
      const page = batch.digest === undefined ? undefined : `${pageTag}.${batch.digest}`;
      // The sequence the marks were read at, when read for this page: it is no later than the
      // snapshots this page's compare reads (nothing of this pass was written since).
      let markedAt: number | undefined;
      if (page && !marks) {
        marks = await store.getPageMarks(id);
        markedAt = marks.seq;
      }
      // A page compared earlier in this pass (a list walked twice) counts as well.
      const since = page ? (compared.get(page) ?? marks?.pages.get(page)) : undefined;
      if (page && marks && since !== undefined && pageUnchanged(keys, since, marks.changed)) {
        // Unchanged up to now (this pass's own writes included): it stands as compared then.
        compared.set(page, Math.max(since, marks.seq));
      } else if (writtenNow && batch.origin && batch.records.length > 0 && isSilentBaseline(batch.records, keys, writtenNow, context)) {
        // Nothing to compare nor to announce: the store writes the texts from the response's bytes.
        crashPoint("pass:after-detect");
        await store.putBaseline(id, batch.origin, batch.records);
        crashPoint("pass:after-snapshots");
        outcome.baselined += batch.records.length;
        for (const key of keys) writtenNow.add(key);
        // First snapshots take no write sequence number, so the page stands as compared at the
        // sequence read with the marks, before the pass's first page: no later than this write
        // (a later mark could hide a change from the next pass; an earlier one only costs a
        // compare). None of its records was on a page compared before (they would have been
        // written then, and the page would not be silent), so their change marks matter only to
        // pages marked in an earlier life of the resource (then kept; without such pages a
        // baseline of a million records would hold a million marks for nothing).
        if (page && marks) {
          if (marks.pages.size > 0) for (const key of keys) marks.changed.set(key, marks.seq);
          compared.set(page, marks.seq);
        }
      } else if (batch.records.length > 0) {
        const before = markedAt ?? (page || marks ? await store.snapshotSeq() : undefined);
        const snapshots = await readSnapshots(batch.records, keys);
        const detection = detectChanges(batch.records, snapshots, rules, context);
        journal.ignored(detection.ignoredOnly);
        crashPoint("pass:after-detect");
        outcome.baselined += detection.baselined;
        await commit(passDeps, id, detection, outcome, staged);
        const written = detection.writes.map(refKey);
        if (writtenNow) for (const key of written) writtenNow.add(key);
        if (before !== undefined) {
          // The page now matches its snapshots as of this commit, if no other write came between;
          // its records count as changed then for every page compared before. Nothing committed:
          // it matches them as of `before` (no need to read the sequence again).
          const after = detection.events.length > 0 || written.length > 0 ? await store.snapshotSeq() : before;
          if (marks) for (const key of written) marks.changed.set(key, after);
          if (page) compared.set(page, after <= before + 1 ? after : before);
        }
      }
      if (batch.deleted && batch.deleted.length > 0) {
        const known = await store.getSnapshots(id, batch.deleted);
        const gone = batch.deleted.flatMap((ref) => {
          const snapshot = known.get(refKey(ref));
          return snapshot && !snapshot.gone ? [{ ref, snapshot }] : [];
        });
        const deletions = detectDeletions(gone, rules, context);
        outcome.deleted += deletions.events.length;
        await commit(passDeps, id, deletions, outcome, staged);
      }
      step = await next;
    }
    outcome.warnings.push(...step.value.warnings);
    return step.value;
  };

  try {
    const passContext = { clock, logger: log, ...(facts ? { facts } : {}), ...(secrets ? { secrets } : {}) };
    let result = await consume(poller.list(listMode, state.cursor, passContext));
    const completeListing = listMode === "complete" && result.complete;
    if (firstRun && poller.orderedByChange && result.cursor !== undefined && outcome.records > 0) {
      // Records edited during the first scan moved to pages already read: caught here, under the start policy.
      const catchUp = await consume(poller.list("incremental", result.cursor, passContext));
      result = { ...catchUp, cursor: catchUp.cursor ?? result.cursor };
    }

    if (listMode === "complete" && outcome.records === 0 && (await store.countSnapshots(id)) > 0) {
      throw new SourceError(`resource ${poller.resource}: the complete list came back empty while state holds records — treated as a source fault, not a mass deletion`, "empty");
    }
    if (mode === "reconcile" && !firstRun && seen) {
      await reconcileDeletions(passDeps, config, poller, id, state, seen, probe, rules, context, outcome, result.doubt, facts, secrets);
    }
    // Within its bounds: what the pass (and a crashed one before it) staged goes to the outbox.
    if (staged) await releaseStaged(deps, id, outcome.events, log);
    told?.tell();
    // Kept from complete listings only, which also drop the marks of pages no longer listed
    // (incremental pages differ from pass to pass: their marks would only pile up).
    if (completeListing) await store.putPageMarks(id, compared, true);
    crashPoint("pass:before-cursor");
    const now = new Date(clock.now()).toISOString();
    if (firstRun && outcome.records === 0 && !(await store.hasSnapshots(id))) {
      // An empty first listing is no baseline (a key without data access, a wrong filter, a
      // short outage): the first pass that sees records is. No cursor until then, so every
      // pass lists completely.
      state.awaitingRecords ??= detectedAt;
      state.lastPassAt = now;
      delete state.lastError;
      await store.putResourceState(id, state);
      log.info("first listing empty: waiting for a first non-empty listing before recording the baseline");
      await journal.write(store, id, outcome, log, { awaiting: true });
      return outcome;
    }
    delete state.awaitingRecords;
    if (completeListing) state.lastComplete = { pages, records: outcome.records };
    state.cursor = result.cursor ?? state.cursor;
    state.initialized = true;
    state.lastPassAt = now;
    if (mode === "reconcile") state.lastReconcileAt = now;
    delete state.lastError;
    await store.putResourceState(id, state);
    crashPoint("pass:after-cursor");
    if (firstRun && outcome.baselined > 0) {
      deps.onNotice?.(`${config.name}/${poller.resource}: ${outcome.baselined} existing records recorded as baseline (no events)`);
    }
    log.info({ records: outcome.records, events: outcome.events, baselined: outcome.baselined, deleted: outcome.deleted }, "pass done");
    await journal.write(store, id, outcome, log);
    return outcome;
  } catch (error) {
    const settled = staged ? await settleStaged(deps, id, error instanceof SourceError && error.fault === "pass-bound", outcome.events, log) : undefined;
    if (settled === "released") told?.tell();
    else told?.forget();
    if (settled === "discarded") {
      outcome.events = 0;
      outcome.deleted = 0;
    }
    if (error instanceof SourceError && error.fault === "pass-bound" && writtenNow && writtenNow.size > 0) {
      // A first pass over an empty resource: what it wrote is dropped, as if it never ran.
      await store.clearResource(id).catch((clearError: unknown) => log.error({ err: clearError instanceof Error ? clearError.message : String(clearError) }, "could not drop what the failed pass wrote"));
    }
    const failed = await failPass(deps, config, id, state, resourceHash, outcome, error, log, probed);
    await journal.write(store, id, failed, log);
    return failed;
  }
}

/** The error of a pass that read past one of its bounds: which bound, from where, and the key to raise. */
function passBoundError(config: SourceConfig, resource: string, exceeded: "pages" | "records", bounds: PassBounds, setOnResource: boolean): SourceError {
  const key = exceeded === "pages" ? "max_pass_pages" : "max_pass_records";
  const where = setOnResource ? `sources[${config.name}].resources[${resource}].${key}` : `${key} (on the resource, or the source for all its resources)`;
  return new SourceError(
    `the listing went past ${bounds[exceeded].toLocaleString("en-US")} ${exceeded} in one pass (${key}, ${bounds.why[exceeded]}): the vendor may be returning a next page forever; the pass failed and keeps nothing it read (cursor unchanged). If the list really is that long, raise ${where}`,
    "pass-bound",
  );
}

/** Collects what `explain` needs of one pass (bounded) and appends it to the resource's journal. */
function passJournal(at: string, mode: PassMode, listing: ListMode, firstRun: boolean) {
  const listed: string[] = [];
  let listedAll = true;
  const ignoredOnly: Record<string, string[]> = {};
  let ignoredCount = 0;
  return {
    listed(keys: string[]): void {
      for (const key of keys) {
        if (listed.length < PASS_LISTED_LIMIT) listed.push(key);
        else listedAll = false;
      }
    },
    ignored(notes: Detection["ignoredOnly"]): void {
      for (const note of notes ?? []) if (ignoredCount++ < PASS_LISTED_LIMIT) ignoredOnly[note.key] = note.fields;
    },
    async write(store: StateStore, id: ResourceId, outcome: PassOutcome, log: Logger, extra: { awaiting?: boolean } = {}): Promise<void> {
      const entry: PassEntry = {
        at,
        mode,
        listing: listing === "complete" ? "complete" : "incremental",
        firstRun,
        ...(extra.awaiting ? { awaiting: true } : {}),
        ok: outcome.ok,
        ...(outcome.error ? { error: outcome.error } : {}),
        records: outcome.records,
        events: outcome.events,
        baselined: outcome.baselined,
        deleted: outcome.deleted,
        ...(outcome.held ? { held: outcome.held } : {}),
        ...(listing === "incremental" ? { listed, listedAll } : {}),
        ...(ignoredCount > 0 ? { ignoredOnly } : {}),
      };
      try {
        await store.appendPass(id, entry);
      } catch (error) {
        // The journal only explains; a pass that did its work is not failed for it.
        log.warn({ err: error instanceof Error ? error.message : String(error) }, "could not add the pass to the journal");
      }
    },
  };
}

/**
 * A page's events and the snapshots they came from, in one store write (`commitPage`); `staged`:
 * held apart until the pass ends (`releaseStaged`), or dropped with the snapshots put back.
 */
async function commit(deps: PassDeps, id: ResourceId, detection: Detection, outcome: PassOutcome, staged: boolean): Promise<void> {
  if (detection.events.length === 0 && detection.writes.length === 0) return;
  const items = detection.events.length > 0 ? await routeEvents(detection.events, deps.route) : [];
  const deliveries = await deps.store.commitPage(id, items, detection.writes, staged);
  // Both are durable from here on (the names stay those of the two writes this once was).
  if (items.length > 0) crashPoint("pass:after-outbox");
  if (detection.writes.length > 0) crashPoint("pass:after-snapshots");
  if (items.length === 0) return;
  if (deps.onRouting) {
    const outcomes = routingOutcomes(items);
    if (outcomes.length > 0) deps.onRouting(outcomes);
  }
  outcome.events += detection.events.length;
  deps.onEvents?.(detection.events.map((e) => e.envelope));
  if (deliveries.length > 0) deps.onEnqueued?.(deliveries);
}

/**
 * The events a staged pass detected (`onEvents`) and how routing sent them (`onRouting`), held
 * until what the pass staged reaches the outbox: told then, in order, or forgotten when it was
 * dropped (past a bound) or the pass could not settle it. So `retrohook_events_detected_total`,
 * the routing counters and `once --dry-run` count what was committed, not what a dropped pass saw.
 */
function toldOnRelease(deps: PassDeps): { deps: PassDeps; tell(): void; forget(): void } {
  const held: Array<() => void> = [];
  const kept = deps.eventsTold === "labels" ? (events: EventEnvelope[]) => events.map((e) => ({ ...e, data: { object: {} } })) : (events: EventEnvelope[]) => events;
  return {
    deps: {
      ...deps,
      ...(deps.onRouting ? { onRouting: (outcomes: RoutingOutcome[]) => held.push(() => deps.onRouting!(outcomes)) } : {}),
      ...(deps.onEvents
        ? {
            onEvents: (events: EventEnvelope[]) => {
              const told = kept(events);
              held.push(() => deps.onEvents!(told));
            },
          }
        : {}),
    },
    tell: () => {
      for (const report of held.splice(0)) report();
    },
    forget: () => {
      held.length = 0;
    },
  };
}

/**
 * The staged events of the resource go to the outbox (the dispatcher is told). Those before the
 * `own` this pass staged were staged by a pass stopped before it settled them (killed): nobody
 * told them, so they are told here, first, with a line saying how many.
 */
async function releaseStaged(deps: PassDeps, id: ResourceId, own: number, log: Logger): Promise<void> {
  const { deliveries, items } = await deps.store.releaseStaged(id);
  crashPoint("pass:after-release");
  const earlier = items.slice(0, Math.max(0, items.length - own));
  if (earlier.length > 0) {
    log.warn({ source: id.source, resource: id.resource, released: earlier.length }, `${id.source}/${id.resource}: ${earlier.length} events an earlier pass staged and never released (it stopped part-way) went to the outbox with this pass's`);
    const outcomes = routingOutcomes(earlier);
    if (deps.onRouting && outcomes.length > 0) deps.onRouting(outcomes);
    deps.onEvents?.(earlier.map((item) => item.event.envelope));
  }
  if (deliveries.length > 0) deps.onEnqueued?.(deliveries);
}

/**
 * A failed pass: past a bound, what it staged is dropped and the snapshots it changed are put
 * back — a list that never ends invents records, and nothing read from it can be trusted. Any
 * other failure releases what was staged: the pages read were real and their changes go out as
 * before. Either failing leaves the staging to the next pass of the resource.
 */
async function settleStaged(deps: PassDeps, id: ResourceId, bound: boolean, own: number, log: Logger): Promise<"released" | "discarded" | "kept"> {
  try {
    if (!bound) {
      await releaseStaged(deps, id, own, log);
      return "released";
    }
    const dropped = await deps.store.discardStaged(id);
    if (dropped > 0) {
      const earlier = dropped > own ? ` (${dropped - own} of them staged by an earlier pass that stopped part-way)` : "";
      log.warn({ source: id.source, resource: id.resource, dropped }, `${id.source}/${id.resource}: the pass went past its bound: ${dropped} staged events${earlier} were dropped and the snapshots they changed put back`);
      deps.onDropped?.(id, dropped);
    }
    return "discarded";
  } catch (error) {
    log.error({ err: error instanceof Error ? error.message : String(error) }, "could not settle what the failed pass staged (the next pass will)");
    return "kept";
  }
}

/**
 * Records missing from a complete reconcile: held when too many would go at once; else
 * confirmed one by one with the vendor's single-record GET, or by being missing twice.
 */
async function reconcileDeletions(
  deps: PassDeps,
  config: SourceConfig,
  poller: ResourcePoller,
  id: ResourceId,
  state: ResourceState,
  seen: ListedKeys,
  probe: RecordRef | undefined,
  rules: DetectRules,
  context: Parameters<typeof detectChanges>[3],
  outcome: PassOutcome,
  doubt?: string,
  facts?: SourceFacts,
  secrets?: SourceSecrets,
): Promise<void> {
  // Every record listed now has a live snapshot, so equal counts mean nothing is missing
  // (unless this pass itself deleted some: then the records are compared one by one).
  if (outcome.deleted === 0 && (await deps.store.countSnapshots(id)) === seen.size) {
    delete state.missing;
    delete state.held;
    delete state.passedGuard;
    return;
  }
  const live = await deps.store.listSnapshotRefs(id);
  const all = live.filter((ref) => !seen.has(refKey(ref)));
  if (all.length === 0) {
    delete state.missing;
    delete state.held;
    delete state.passedGuard;
    return;
  }
  // The guard judges what went missing since the last reconcile that got this far: records it
  // let through then and that are still missing are not news (their confirmation was cut short:
  // a crash, a restart, a vendor error), so a backlog that grew a little at each reconcile is
  // not taken for a mass deletion. What went missing at once beyond them is held, and stays
  // held (it is never let through later) until it comes back or `reset --accept-deletes`.
  const passedBefore = new Set(state.passedGuard?.records ?? []);
  const fresh = all.filter((ref) => !passedBefore.has(refKey(ref)));
  const { maxDeleteMin, maxDeleteRatio } = poller.rules;
  let missing = all;
  const at = new Date(deps.clock.now()).toISOString();
  if (fresh.length > maxDeleteMin && fresh.length / live.length > maxDeleteRatio) {
    state.held = { at, records: fresh };
    outcome.held = fresh.length;
    const warning = `${fresh.length} of ${live.length} records of ${poller.resource} are missing at once (more than max_delete_min ${maxDeleteMin} and max_delete_ratio ${maxDeleteRatio}); deletions held — check the source, then run retrohook reset --source ${config.name} --resource ${poller.resource} --accept-deletes`;
    outcome.warnings.push(warning);
    deps.logger.warn({ source: config.name, resource: poller.resource, missing: fresh.length, total: live.length }, "deletions held");
    missing = all.filter((ref) => passedBefore.has(refKey(ref)));
  } else {
    delete state.held;
  }
  // Kept before the first confirmation is asked: a pass stopped from here on leaves the next
  // reconcile to judge only what goes missing after this one.
  state.passedGuard = { at, records: missing.map(refKey) };
  const stored = await deps.store.getResourceState(id);
  if (stored) {
    const { held: _held, ...rest } = stored;
    await deps.store.putResourceState(id, { ...rest, passedGuard: state.passedGuard, ...(state.held ? { held: state.held } : {}) });
  }
  if (missing.length === 0) return;
  crashPoint("pass:before-deletions");
  const confirmed: RecordRef[] = [];
  let undecided: RecordRef[] = missing;
  const trashed = new Set<string>();
  if (poller.confirmGone && probe) {
    // Asked in chunks, each chunk's confirmed deletions committed before the next is asked: a
    // pass stopped part-way (a crash, a database restart, a vendor error) keeps the deletions it
    // confirmed, so a backlog shrinks from one pass to the next instead of growing until the
    // guard above holds it. The guard has judged the whole set already.
    undecided = [];
    for (let start = 0; start < missing.length; start += CONFIRM_CHUNK) {
      const chunk = missing.slice(start, start + CONFIRM_CHUNK);
      const known = await deps.store.getSnapshots(id, [...chunk, probe]);
      const answers = await poller.confirmGone(chunk, probe, { clock: deps.clock, logger: deps.logger, ...(facts ? { facts } : {}), ...(secrets ? { secrets } : {}) }, known);
      for (const ref of chunk) {
        const answer = answers.get(refKey(ref));
        if (answer === "unknown" || answer === "trashed") undecided.push(ref);
        if (answer === "trashed") trashed.add(refKey(ref));
      }
      await commitDeletions(deps, id, chunk.filter((ref) => answers.get(refKey(ref)) === "gone"), trashed, rules, context, outcome);
    }
  }
  if (undecided.length > 0 && doubt) {
    // A listing whose completeness is in doubt confirms nothing by absence; the records already
    // missing once stay so, to be confirmed by a listing that is complete.
    deps.logger.warn({ source: config.name, resource: poller.resource, missing: undecided.length, doubt }, "listing in doubt: no deletion confirmed by absence");
  } else if (undecided.length > 0) {
    // Without a usable single-record GET: deleted only when missing in two consecutive reconciles.
    const before = state.missing ?? {};
    const twice = undecided.filter((ref) => before[refKey(ref)]);
    confirmed.push(...twice);
    const waiting = undecided.filter((ref) => !before[refKey(ref)]);
    state.missing = Object.fromEntries(waiting.map((ref) => [refKey(ref), ref]));
    if (waiting.length > 0) deps.onNotice?.(`${config.name}/${poller.resource}: ${waiting.length} records missing, awaiting confirmation by the next reconcile`);
  } else {
    delete state.missing;
  }
  await commitDeletions(deps, id, confirmed, trashed, rules, context, outcome);
}

/** Missing records the vendor answers about in one `confirmGone` call (and one commit). */
const CONFIRM_CHUNK = 25;

/** `deleted` events for confirmed records (tombstones written with them). */
async function commitDeletions(
  deps: PassDeps,
  id: ResourceId,
  confirmed: RecordRef[],
  trashed: Set<string>,
  rules: DetectRules,
  context: Parameters<typeof detectChanges>[3],
  outcome: PassOutcome,
): Promise<void> {
  if (confirmed.length === 0) return;
  crashPoint("pass:deletions-confirmed");
  const snapshots = await deps.store.getSnapshots(id, confirmed);
  const gone = confirmed.flatMap((ref) => {
    const snapshot: Snapshot | undefined = snapshots.get(refKey(ref));
    return snapshot && !snapshot.gone ? [{ ref, snapshot, ...(trashed.has(refKey(ref)) ? { reason: TRASHED_REASON } : {}) }] : [];
  });
  const deletions = detectDeletions(gone, rules, context);
  outcome.deleted += deletions.events.length;
  // Reconciles are later passes: staged like their listing's changes.
  await commit(deps, id, deletions, outcome, true);
}

async function failPass(
  deps: PassDeps,
  config: SourceConfig,
  id: ResourceId,
  state: ResourceState,
  resourceHash: string,
  outcome: InternalOutcome,
  error: unknown,
  log: Logger,
  probed?: Suspension,
): Promise<InternalOutcome> {
  // Vendors' answers may quote the credentials: scrubbed before it is kept (lastError, suspensions).
  const message = scrub(`source ${config.name}, resource ${id.resource}: ${error instanceof Error ? error.message : String(error)}`);
  const at = new Date(deps.clock.now()).toISOString();
  outcome.ok = false;
  outcome.error = message;
  outcome.cause = error instanceof SourceError ? error.fault : error instanceof StateError ? "state" : "internal";
  log.error({ err: message, cause: error instanceof SourceError ? error.fault : "internal" }, "pass failed");
  try {
    // Fresh copy: nothing from the failed pass (cursor, missing set) is kept but the error.
    const fresh = (await deps.store.getResourceState(id)) ?? state;
    fresh.lastError = { at, message };
    if (!fresh.generation) fresh.generation = state.generation;
    if (error instanceof ForbiddenError) {
      // A failed re-probe keeps when the suspension began.
      fresh.suspended = probed ? { ...probed, reason: message, probedAt: at } : { at, reason: message, configHash: resourceHash };
      log.error(`resource suspended after HTTP 403; tried again every ${Math.round((config.reprobe ?? REPROBE_MS) / 60_000)} min, or at once with ${suspensionAdvice(config.name, id.resource, "")}`);
    } else if (probed) {
      // The probe got past the refusal but failed otherwise: the suspension is lifted all the same.
      delete fresh.suspended;
    }
    await deps.store.putResourceState(id, fresh);
    if (error instanceof AuthError) {
      outcome.authFailed = true;
      const sourceState = (await deps.store.getSourceState(config.name)) ?? {};
      const before = sourceState.suspended;
      sourceState.suspended = before && before.configHash === configHash(config) ? { ...before, reason: message, probedAt: at } : { at, reason: message, configHash: configHash(config) };
      sourceState.lastError = { at, message };
      await deps.store.putSourceState(config.name, sourceState);
      log.error(`source suspended after an authentication failure; tried again every ${Math.round((config.reprobe ?? REPROBE_MS) / 60_000)} min, or at once with ${suspensionAdvice(config.name, undefined, "")}`);
    }
    if (error instanceof SourceError && error.details.untilMs !== undefined) {
      outcome.backedOff = true;
      const sourceState = (await deps.store.getSourceState(config.name)) ?? {};
      sourceState.backoffUntil = new Date(boundedBackoffUntil(config, error.details.untilMs, deps.clock.now(), log)).toISOString();
      sourceState.backoffReason = scrub(error.message);
      await deps.store.putSourceState(config.name, sourceState);
      log.error({ until: sourceState.backoffUntil }, "vendor asked to wait; backing off");
    }
  } catch (stateError) {
    log.error({ err: stateError instanceof Error ? stateError.message : String(stateError) }, "could not record the failure in state");
  }
  return outcome;
}

function startPolicy(start: StartMode, poller: ResourcePoller, timeZone: string): (record: SourceRecord) => boolean {
  if (start.mode === "baseline") return () => false;
  if (start.mode === "backfill") return () => true;
  const since = parseInstant(start.since, timeZone) ?? Number.NaN;
  return (record) => {
    const created = poller.createdAt(record);
    return created !== undefined && created >= since;
  };
}

/**
 * After empty first listings, the first pass that sees records is the baseline — yet a record
 * created since the first empty listing (by its creation stamp, to the second) is new, not
 * baselined: it is announced as it would have been after a baseline then.
 */
function firstPassPolicy(policy: (record: SourceRecord) => boolean, poller: ResourcePoller, awaitingSince: string | undefined): (record: SourceRecord) => boolean {
  if (awaitingSince === undefined) return policy;
  const since = Math.floor(Date.parse(awaitingSince) / 1000) * 1000;
  return (record) => {
    if (policy(record)) return true;
    const created = poller.createdAt(record);
    return created !== undefined && created >= since;
  };
}

function emptyOutcome(source: string, resource: string, mode: PassMode): InternalOutcome {
  return { source, resource, mode, ok: true, records: 0, events: 0, baselined: 0, deleted: 0, warnings: [] };
}

/** What every suspension message says: resume keeps the state, reset starts over. */
export function suspensionAdvice(source: string, resource: string | undefined, fix: string): string {
  const target = resource ? `--source ${source} --resource ${resource}` : `--source ${source}`;
  return `${fix ? `${fix}, then ` : ""}run retrohook resume ${target} (keeps cursors and snapshots; tried again automatically every \`reprobe\`), or run retrohook reset ${target} to start over`;
}

export function configHash(value: unknown): string {
  if (typeof value === "object" && value !== null) {
    const known = configHashes.get(value);
    if (known) return known;
    const hash = hashOf(value);
    configHashes.set(value, hash);
    return hash;
  }
  return hashOf(value);
}

/** Configs are immutable once loaded: each object's hash is computed once. */
const configHashes = new WeakMap<object, string>();

function hashOf(value: unknown): string {
  return createHash("sha1").update(JSON.stringify(value) ?? "").digest("hex").slice(0, 16);
}
