import type { PassEntry } from "../core/explain.js";
import type { EventEnvelope, RecordRef, RecordsOrigin, Snapshot } from "../core/types.js";

/**
 * The state boundary. Every method either completes durably or throws: no error is swallowed.
 * Write order in a pass is page (its events with their snapshots, one transaction: `commitPage`)
 * → cursor, each durable before the next.
 * One process owns a state file at a time (`open` takes a lock; `close` releases it).
 */

export interface ResourceId {
  source: string;
  resource: string;
}

export interface ResourceState {
  /** Opaque, owned by the source poller; undefined before the first complete pass. */
  cursor?: unknown;
  /** Random per resource; renewed by reset so event ids never repeat. */
  generation: string;
  /** A complete pass has finished at least once (baseline done). */
  initialized: boolean;
  /** Since when the first listings came back empty: no baseline yet, waiting for records. */
  awaitingRecords?: string;
  lastPassAt?: string;
  lastReconcileAt?: string;
  lastError?: { at: string; message: string };
  /** Records missing in the last complete reconcile (deleted only when missing twice). */
  missing?: Record<string, RecordRef>;
  /** Deletions held by the max_delete guard, released by `reset --accept-deletes`. */
  held?: { at: string; records: RecordRef[] };
  /**
   * Ref keys of records a reconcile found missing and the max_delete guard let through, still to
   * be confirmed deleted: the next reconcile judges only the records missing beyond these.
   */
  passedGuard?: { at: string; records: string[] };
  /** 403 on this resource: persisted until reset or the config for it changes. */
  suspended?: Suspension;
  /** Size of the last complete listing: the default bounds of a pass derive from it (core/pass-bounds.ts). */
  lastComplete?: { pages: number; records: number };
}

export interface Suspension {
  at: string;
  reason: string;
  /** Hash of the config the suspension was recorded under; a change lifts it. */
  configHash: string;
  /** For a timed back-off ("wait N minutes"): no request before this instant. */
  until?: string;
  /** The last automatic re-probe that was refused again (the next one waits `reprobe` from here). */
  probedAt?: string;
}

export interface SourceState {
  suspended?: Suspension;
  backoffUntil?: string;
  backoffReason?: string;
  lastPassAt?: string;
  lastError?: { at: string; message: string };
  /**
   * What a source learned about the vendor account that must outlive a failed pass and a
   * restart (e.g. that the key cannot read an audit log), with when it was learned. Cleared by
   * `retrohook reset --source`.
   */
  facts?: Record<string, string>;
  /**
   * Secrets the source learned from the vendor (a rotated OAuth refresh token), by name. Never
   * shown by `status`, the admin API or logs; kept by `retrohook reset` (the one in the config
   * may be spent).
   */
  secrets?: Record<string, string>;
}

/** Per-target state that outlives a restart. An operator pause never resumes by itself. */
export interface TargetState {
  paused?: { at: string; reason: string };
}

export interface BudgetState {
  /** Period key in the source's timezone: `2026-11` (month), `2026-11-23` (day), `2026-11-23T10` (hour). */
  period: string;
  used: number;
}

export type DeliveryStatus = "pending" | "delivered" | "dead";

/** One event for one target, pending in the outbox. */
export interface Delivery {
  seq: number;
  target: string;
  eventId: string;
  /** Record key; deliveries of one key go out in `seq` order. */
  recordKey: string;
  attempts: number;
  /** ms since epoch; not before this. */
  nextAttemptAt: number;
  lastError?: string;
}

export interface StoredEvent {
  envelope: EventEnvelope;
  /** The exact standard body (JSON of `envelope`), fixed at detection. */
  body: string;
  /**
   * Only from `getEvent(id, target)`: what routing fixed for that target when it had a filter or
   * transform — the transformed body, or "" when the event passed a filter and goes in the
   * target's format. Undefined: routed to the target without expressions.
   */
  fixed?: string;
}

export interface DeadLetter {
  seq: number;
  target: string;
  eventId: string;
  recordKey: string;
  at: string;
  attempts: number;
  reason: string;
  /** Last response summary (status, first bytes of body). */
  response?: { status?: number; body?: string };
}

export interface DeliveryLogEntry {
  at: string;
  target: string;
  eventId: string;
  eventType: string;
  recordKey: string;
  attempt: number;
  /** `filtered`: the target's filter said no when the event was routed; nothing is sent. */
  outcome: "delivered" | "retry" | "dead" | "failed" | "filtered";
  status?: number;
  latencyMs: number;
  error?: string;
}

export interface EnqueueItem {
  event: StoredEvent;
  recordKey: string;
  /** Targets this event is routed to (fixed at write time). */
  targets: string[];
  /** Per target with a filter or transform: its fixed body ("" = the target's format), kept with the event. */
  fixed?: Record<string, string>;
  /** Targets whose filter said no: a `filtered` delivery log entry each, no delivery. */
  filtered?: string[];
  /** Targets whose filter or transform failed: a dead letter each (attempts 0) with the reason. */
  failed?: Record<string, string>;
}

/** What `releaseStaged` moved to the outbox: the deliveries made, and the items in staging order. */
export interface ReleasedStaging {
  deliveries: Delivery[];
  items: EnqueueItem[];
}

export interface SnapshotWrite extends RecordRef {
  snapshot: Snapshot;
  /** The previous snapshot was a tombstone (the record came back): drop the tombstone. */
  revived?: boolean;
  /** The record had no snapshot nor tombstone before: no change mark is needed (see PageMarks). */
  fresh?: boolean;
}

/**
 * What lets a pass skip comparing a page it has seen before (docs/decisions/0007). Every
 * snapshot write except a first one advances a store-wide write sequence and marks the record
 * with it, in the same transaction. A page compared when the sequence was S needs no compare
 * while its bytes are the same and none of its records is marked after S: a compare would
 * find every record equal to its snapshot.
 */
export interface PageMarks {
  /** Page digest → the write sequence before the pass that last compared that page read its snapshots. */
  pages: Map<string, number>;
  /** Record key (`refKey`) → write sequence of its last snapshot change (first writes excluded). */
  changed: Map<string, number>;
  /** The write sequence these marks were read at. */
  seq: number;
}

/**
 * Small JSON state (cursors and resource state, source state with its suspensions and facts,
 * target pauses, budgets): src/store/<backend>/small-state.ts.
 */
export interface SmallState {
  getResourceState(id: ResourceId): Promise<ResourceState | undefined>;
  putResourceState(id: ResourceId, state: ResourceState): Promise<void>;
  getSourceState(source: string): Promise<SourceState | undefined>;
  putSourceState(source: string, state: SourceState): Promise<void>;
  getTargetState(target: string): Promise<TargetState | undefined>;
  putTargetState(target: string, state: TargetState): Promise<void>;
  getBudget(source: string): Promise<BudgetState | undefined>;
  putBudget(source: string, budget: BudgetState): Promise<void>;
  /** The overview's hourly series (src/telemetry/series.ts): one small JSON record. */
  getSeries(): Promise<SeriesState | undefined>;
  putSeries(series: SeriesState): Promise<void>;
  /**
   * Reads the series, changes it with `apply` and writes it, as one step: calls never overwrite
   * each other's changes — on PostgreSQL not even those of replicas sampling at the same instant
   * (the row is locked from the read to the write). `apply` may run more than once (a retried
   * transaction), each time on what is stored then.
   */
  updateSeries(apply: (current: SeriesState | undefined) => SeriesState): Promise<void>;
}

/** One hour of the overview's charts; a day of them is kept (src/telemetry/series.ts). */
export interface SeriesHour {
  /** Start of the hour, ms since epoch. */
  at: number;
  /** Source → event type → events detected. */
  events: Record<string, Record<string, number>>;
  /** Target → outcome → delivery attempts (and events routing filtered out). */
  deliveries: Record<string, Record<string, number>>;
  /** Target → the most deliveries pending at one sample in the hour. */
  backlog: Record<string, number>;
  /** Target → delivery attempts at or under each latency bound (`SERIES_LATENCY_BOUNDS_MS`, then all of them): cumulative. */
  latency: Record<string, number[]>;
}

export interface SeriesState {
  hours: SeriesHour[];
}

/** Snapshots, tombstones and page marks: src/store/<backend>/snapshots.ts. */
export interface SnapshotStore {
  getSnapshots(id: ResourceId, refs: RecordRef[]): Promise<Map<string, Snapshot>>;
  putSnapshots(id: ResourceId, writes: SnapshotWrite[]): Promise<void>;
  /**
   * First snapshots (version 1, no fingerprint) of records never seen, recorded silently (a
   * baseline): `refs[i]` is element `i` of the origin's array, and its text is that element's
   * JSON. May return before the write is committed; every later call that reads or writes the
   * resource's snapshots or state waits for it, and the first of them fails if it failed.
   */
  putBaseline(id: ResourceId, origin: RecordsOrigin, refs: RecordRef[]): Promise<void>;
  /** Every live (not gone) record ref of a resource. */
  listSnapshotRefs(id: ResourceId): Promise<RecordRef[]>;
  countSnapshots(id: ResourceId): Promise<number>;
  /** Whether the resource has any snapshot or tombstone. */
  hasSnapshots(id: ResourceId): Promise<boolean>;
  /** The store-wide snapshot write sequence now (read before a page's snapshots are). */
  snapshotSeq(): Promise<number>;
  getPageMarks(id: ResourceId): Promise<PageMarks>;
  /**
   * Records the pages a pass compared or skipped. After a complete listing (`complete`) the
   * pages not listed are forgotten and change marks older than every kept page are dropped.
   */
  putPageMarks(id: ResourceId, pages: Map<string, number>, complete: boolean): Promise<void>;
  /** Drop snapshots, page marks, cursor and state of a resource (reset). */
  clearResource(id: ResourceId): Promise<void>;
}

/**
 * A pass's changes: src/store/<backend>/page-commit.ts. The events of a change and the snapshots
 * it came from are one write: with two, a process stopped between them (a crash, a replica's
 * fence refused after it lost its lease) left an event delivered with no snapshot behind it,
 * and a record deleted before the next pass saw it again never got its `deleted`.
 */
export interface PageCommit {
  /**
   * Enqueues `items` (as `enqueue`) and writes `writes` for `id` (as `putSnapshots`, change
   * marks included) in ONE transaction (under the pass's fence on a replica): all or nothing.
   * Returns the deliveries created.
   */
  commitPage(id: ResourceId, items: EnqueueItem[], writes: SnapshotWrite[], staged?: boolean): Promise<Delivery[]>;
  /**
   * With `staged` (a later pass, docs/decisions/0014): the events are kept in the resource's
   * staging area, not the outbox (no delivery is made, none returned), and each record's
   * snapshot as it was before its first staged write is journaled, in the same transaction.
   * `releaseStaged` moves the staged events to the outbox (as `enqueue`, in the order they were
   * staged) and forgets the journal; `discardStaged` drops them and puts every journaled snapshot
   * back — each in one transaction. What a crashed pass staged stays until the next pass of the
   * resource releases or discards it; `clearResource` drops it. `releaseStaged` returns the
   * deliveries it made and the items it released, in staging order (a crashed pass's first).
   */
  releaseStaged(id: ResourceId): Promise<ReleasedStaging>;
  /** Returns how many staged events were dropped. */
  discardStaged(id: ResourceId): Promise<number>;
  /** The resources with anything staged or journaled: passes stopped before they released or discarded it. */
  stagedResources(): Promise<ResourceId[]>;
}

/** Events, pending deliveries and dead letters: src/store/<backend>/outbox.ts. */
/** The reason kept with the dead letters of a target that left the config (`deadLetterPendingExcept`). */
export const removedTargetReason = (target: string): string => `target ${target} removed from config`;

export interface Outbox {
  /** Writes events (skipping ids already present) and their pending deliveries, atomically.
   *  Returns the deliveries created (the dispatcher is told about them). */
  enqueue(items: EnqueueItem[]): Promise<Delivery[]>;
  /** The event; with `target`, also what routing fixed for that target (`fixed`). */
  getEvent(eventId: string, target?: string): Promise<StoredEvent | undefined>;
  /**
   * Several events in one read (the dispatcher reads the next heads' events ahead), each as
   * `getEvent(id, target)` gives it; an id not in state is absent from the map.
   */
  getEvents(eventIds: readonly string[], target?: string): Promise<Map<string, StoredEvent>>;
  /** Fixes the body of an event for a target (a replay routed again through its expressions). */
  putFixedBody(eventId: string, target: string, body: string): Promise<void>;
  /** Ids of the events detected for one record, oldest first (the record view: why something fired). */
  listEventIdsForRecord(recordKey: string, limit?: number): Promise<string[]>;
  hasEvent(eventId: string): Promise<boolean>;
  /** Pending deliveries, by target, in `seq` order within a target. */
  listPending(target?: string): Promise<Delivery[]>;
  updateDelivery(delivery: Delivery): Promise<void>;
  /** Removes a pending delivery after a 2xx and appends the log entry. */
  ackDelivery(delivery: Delivery, log: DeliveryLogEntry): Promise<void>;
  deadLetter(delivery: Delivery, dead: Omit<DeadLetter, "seq">, log: DeliveryLogEntry): Promise<void>;
  listDeadLetters(target?: string): Promise<DeadLetter[]>;
  /**
   * Moves dead letters back to pending (replay); returns the deliveries made. With `to`, they
   * go to that target instead of their own (a renamed or removed target's letters).
   */
  requeueDeadLetters(target?: string, eventId?: string, to?: string): Promise<Delivery[]>;
  /** New pending delivery of an existing event (replay keeps the id). */
  requeueEvent(eventId: string, targets: string[], recordKey: string): Promise<Delivery[]>;
  /**
   * Moves the pending deliveries of targets not in the list to dead letters, with the reason
   * `target <name> removed from config` (never dropped: `replay --dead-letters --to` sends
   * them on); returns the count per target moved, atomically.
   */
  deadLetterPendingExcept(targets: string[]): Promise<Record<string, number>>;
  /** Pending deliveries per target, for every target that has any (counted, no rows read). */
  pendingTargets(): Promise<Record<string, number>>;
  /**
   * A target's pending and dead-letter counts and its oldest pending delivery, for `/metrics`:
   * kept counts and one indexed seek, so the cost does not grow with the queue.
   */
  queueGauges(target: string): Promise<QueueGauges>;
}

export interface QueueGauges {
  pending: number;
  deadLetters: number;
  /** The event of the pending delivery with the lowest `seq`. */
  oldestPendingEventId?: string;
}

/** The delivery log, bounded per target: src/store/<backend>/delivery-log.ts. */
export interface DeliveryLog {
  appendLog(entry: DeliveryLogEntry): Promise<void>;
  /** Newest first within a target. */
  listLog(filter: { target?: string; limit?: number }): Promise<DeliveryLogEntry[]>;
}

export type { PassEntry };

/** Passes kept per resource: a day of one-minute passes. */
export const PASS_HISTORY_LIMIT = 1440;
/** Record keys kept per incremental pass (an idle pass lists a handful). */
export const PASS_LISTED_LIMIT = 200;

/**
 * The pass journal, bounded per resource (`explain` reads it; docs/decisions/0011):
 * src/store/<backend>/pass-journal.ts. `reset` keeps it: what happened before still explains.
 */
export interface PassJournal {
  /** Appends a pass to the resource's journal, dropping the oldest beyond `PASS_HISTORY_LIMIT`. */
  appendPass(id: ResourceId, entry: PassEntry): Promise<void>;
  /** The resource's journal, oldest first. */
  listPasses(id: ResourceId): Promise<PassEntry[]>;
}

/** A replica as it announces itself (docs/decisions/0013). */
export interface ReplicaInfo {
  id: string;
  host: string;
  pid: number;
  version: string;
  /** Random per process: tells a restarted replica with the same id from the one before. */
  instance: string;
  leaseMs: number;
}

export interface ReplicaRow extends Omit<ReplicaInfo, "instance"> {
  startedAt: string;
  heartbeatAt: string;
  draining: boolean;
  /** Heartbeat within its lease and not draining (by the database's clock). */
  live: boolean;
  /** How long its last heartbeat keeps it live (ms, by the database's clock; 0 once it is not). */
  liveForMs?: number;
}

export interface LeaseRow {
  source: string;
  owner: string;
  token: number;
  grantedAt: string;
  expiresAt: string;
  /** Not expired (by the database's clock). */
  valid: boolean;
  /** Expired for longer than `freeForMs` when read (0 when valid). */
  expiredForMs: number;
  /** How long until it expires, by the database's clock (0 once expired). */
  remainingMs: number;
}

export interface HeldLease {
  source: string;
  token: number;
}

export interface LeaseGrant {
  token: number;
  previousOwner?: string;
}

/**
 * Leases and the live set of replicas: src/store/postgres/cluster.ts (PostgreSQL only; a
 * SQLite store has none). Tokens only grow; a write made under a fence checks its token in
 * its own transaction (src/store/fence.ts).
 */
export interface ClusterStore {
  /** Announces the replica; false while another live process uses the same id. */
  join(me: ReplicaInfo): Promise<boolean>;
  /** Heartbeat (and draining flag); false when another process took this id over. */
  heartbeat(me: ReplicaInfo, draining: boolean): Promise<boolean>;
  /** Removes the replica's row (clean stop). Rows of replicas silent for `pruneMs` go too. */
  leave(me: ReplicaInfo, pruneMs: number): Promise<void>;
  replicas(): Promise<ReplicaRow[]>;
  leases(): Promise<LeaseRow[]>;
  /** Extends the leases still held with these tokens; returns the sources renewed. */
  renew(owner: string, held: HeldLease[], leaseMs: number): Promise<string[]>;
  /** A new token for each of `sources` whose lease is free or expired (the others are held), in one transaction. */
  acquire(owner: string, sources: string[], leaseMs: number): Promise<Map<string, LeaseGrant>>;
  /** Ends these leases now (they can be granted at once). */
  release(owner: string, held: HeldLease[]): Promise<void>;
}

/** What retention prunes (docs/decisions/0015): the pass journal follows `state.retention.events`. */
export const PRUNABLE_KINDS = ["events", "delivery_log", "dead_letters", "pass_journal"] as const;
export type PrunableKind = (typeof PRUNABLE_KINDS)[number];

/** The kinds of state `status` sizes; `events` includes the record index, `other` the small state and counters. */
export const STATE_KINDS = ["snapshots", "events", "fixed_bodies", "pending", "dead_letters", "delivery_log", "pass_journal", "other"] as const;
export type StateKind = (typeof STATE_KINDS)[number];

export interface StateSizes {
  /** Entries and bytes (keys and values as stored, before the backend's own overhead) per kind. */
  kinds: Record<StateKind, { count: number; bytes: number }>;
  /** SQLite: the file's size and its free pages; PostgreSQL: the schema's tables with their indexes. */
  fileBytes: number;
  freeBytes: number;
  /** How free space goes back: `incremental vacuum`, `reused only (auto_vacuum off)`, `vacuum`. */
  reclaim: string;
}

/** `spent()` is true once `budgetMs` has passed since the call (a prune step's time budget). */
export function stepBudget(budgetMs = Number.POSITIVE_INFINITY): { spent(): boolean } {
  const until = performance.now() + budgetMs;
  return { spent: () => performance.now() >= until };
}

export interface PruneResult {
  removed: number;
  /** This kind's sweep is finished (nothing older than the cutoff left to look at). */
  done: boolean;
}

/**
 * Retention (docs/decisions/0015): src/store/<backend>/retention.ts. Every call does a bounded
 * amount of work, so a caller can interleave them with passes and deliveries.
 */
export interface StateRetention {
  /**
   * Looks at up to `limit` entries of `kind` and removes those older than `before` (ms since
   * epoch). Events: only those no pending delivery or dead letter refers to, with their
   * record-index entry and the bodies their targets fixed. A sweep goes on over several calls
   * until `done`; the next call after `done` starts a new sweep, and records `before` as the
   * kind's prune horizon. A step also ends once it has run `budgetMs` (checked after each entry
   * on SQLite, after each chunk of a few dozen rows on PostgreSQL; a step always removes or looks
   * at something, so a sweep moves on even at 0): what it costs is bounded by time, not rows.
   */
  pruneStep(kind: PrunableKind, before: number, limit: number, budgetMs?: number): Promise<PruneResult>;
  /** Gives free space back to the file system, at most `pages` pages (SQLite); returns the pages given back. */
  reclaimSpace(pages: number): Promise<number>;
  /** Entries and bytes per kind (read in chunks: it may take a while on a large state). */
  stateSizes(): Promise<StateSizes>;
  /** Per kind, the cutoff of the last finished sweep (ISO): older entries of that kind are gone. */
  pruneHorizons(): Promise<Partial<Record<PrunableKind, string>>>;
}

/**
 * A backend (src/store/<backend>/) implements each concern in a file of its own and composes
 * them; test/store/contract/ is the suite every backend passes unchanged. A new method goes
 * into the interface of its concern, each backend's file for it, and the contract suite.
 */
export interface StateStore extends SmallState, SnapshotStore, PageCommit, Outbox, DeliveryLog, PassJournal, StateRetention {
  readonly epoch: string;
  readonly readOnly: boolean;
  /** Replicas' leases (PostgreSQL only). */
  readonly cluster?: ClusterStore;
  close(): Promise<void>;
}
