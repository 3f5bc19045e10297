import { randomBytes } from "node:crypto";
import type { Clock } from "../../src/clock.js";
import { staleChangeMarks } from "../../src/core/page-marks.js";
import { refKey, type RecordRef, type RecordsOrigin, type Snapshot } from "../../src/core/types.js";
import { baselineTexts } from "../../src/store/snapshot-codec.js";
import { routingRecords } from "../../src/store/routing-records.js";
import {
  PASS_HISTORY_LIMIT,
  STATE_KINDS,
  removedTargetReason,
  type PrunableKind,
  type PruneResult,
  type StateKind,
  type StateSizes,
  type BudgetState,
  type SeriesState,
  type DeadLetter,
  type Delivery,
  type QueueGauges,
  type DeliveryLogEntry,
  type EnqueueItem,
  type ReleasedStaging,
  type PageMarks,
  type PassEntry,
  type ResourceId,
  type ResourceState,
  type SnapshotWrite,
  type SourceState,
  type StateStore,
  type StoredEvent,
  type TargetState,
} from "../../src/store/store.js";

/**
 * A StateStore in plain maps, faithful to the interface's contract (atomic enqueue skipping
 * known ids, seq order, requeues with new seqs). For tests that want no file; values are
 * copied in and out so callers cannot mutate state behind its back. `failNext` makes the next
 * write of a given method throw, to test "state errors are never swallowed".
 */
export class MemoryStateStore implements StateStore {
  readonly epoch = randomBytes(8).toString("hex");
  readonly readOnly = false;
  private seq = 0;
  private readonly events = new Map<string, string>();
  private readonly fixed = new Map<string, string>();
  private readonly byRecord = new Map<string, string[]>();
  private readonly pending = new Map<number, Delivery>();
  private readonly dead = new Map<number, DeadLetter>();
  private readonly log: DeliveryLogEntry[] = [];
  private readonly resources = new Map<string, ResourceState>();
  private readonly sources = new Map<string, SourceState>();
  private readonly budgets = new Map<string, BudgetState>();
  private readonly targetStates = new Map<string, TargetState>();
  private readonly passes = new Map<string, PassEntry[]>();
  private readonly snapshots = new Map<string, Map<string, Snapshot>>();
  private writeSeq = 0;
  private readonly marks = new Map<string, PageMarks>();
  private readonly failures = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /** The next `times` calls of `method` throw. */
  failNext(method: keyof StateStore, times = 1): void {
    this.failures.set(method, times);
  }

  private check(method: keyof StateStore): void {
    const left = this.failures.get(method) ?? 0;
    if (left > 0) {
      this.failures.set(method, left - 1);
      throw new Error(`injected ${method} failure`);
    }
  }

  async getResourceState(id: ResourceId): Promise<ResourceState | undefined> {
    return clone(this.resources.get(`${id.source}/${id.resource}`));
  }

  async putResourceState(id: ResourceId, state: ResourceState): Promise<void> {
    this.check("putResourceState");
    this.resources.set(`${id.source}/${id.resource}`, clone(state));
  }

  async getSourceState(source: string): Promise<SourceState | undefined> {
    return clone(this.sources.get(source));
  }

  async putSourceState(source: string, state: SourceState): Promise<void> {
    this.check("putSourceState");
    this.sources.set(source, clone(state));
  }

  private resourceSnapshots(id: ResourceId): Map<string, Snapshot> {
    const key = `${id.source}/${id.resource}`;
    let map = this.snapshots.get(key);
    if (!map) {
      map = new Map();
      this.snapshots.set(key, map);
    }
    return map;
  }

  async getSnapshots(id: ResourceId, refs: RecordRef[]): Promise<Map<string, Snapshot>> {
    const map = this.resourceSnapshots(id);
    const out = new Map<string, Snapshot>();
    for (const ref of refs) {
      const snapshot = map.get(refKey(ref));
      if (snapshot) out.set(refKey(ref), clone(snapshot));
    }
    return out;
  }

  async putSnapshots(id: ResourceId, writes: SnapshotWrite[]): Promise<void> {
    this.check("putSnapshots");
    const map = this.resourceSnapshots(id);
    const marks = this.resourceMarks(id);
    const changeSeq = this.writeSeq + 1;
    for (const write of writes) {
      map.set(refKey(write), clone(write.snapshot));
      if (!write.fresh) {
        marks.changed.set(refKey(write), changeSeq);
        this.writeSeq = changeSeq;
      }
    }
  }

  async putBaseline(id: ResourceId, origin: RecordsOrigin, refs: RecordRef[]): Promise<void> {
    this.check("putBaseline");
    const texts = baselineTexts(origin, refs.length, `${id.source}/${id.resource}`);
    const map = this.resourceSnapshots(id);
    refs.forEach((ref, index) => map.set(refKey(ref), { version: 1, fingerprint: "", json: texts[index]! }));
  }

  async snapshotSeq(): Promise<number> {
    return this.writeSeq;
  }

  private resourceMarks(id: ResourceId): PageMarks {
    const key = `${id.source}/${id.resource}`;
    const marks = this.marks.get(key) ?? { pages: new Map(), changed: new Map(), seq: 0 };
    this.marks.set(key, marks);
    return marks;
  }

  async getPageMarks(id: ResourceId): Promise<PageMarks> {
    const marks = this.resourceMarks(id);
    return { pages: new Map(marks.pages), changed: new Map(marks.changed), seq: this.writeSeq };
  }

  async putPageMarks(id: ResourceId, pages: Map<string, number>, complete: boolean): Promise<void> {
    const marks = this.resourceMarks(id);
    if (complete) marks.pages.clear();
    for (const [digest, since] of pages) marks.pages.set(digest, since);
    if (complete) for (const key of staleChangeMarks(marks.pages, marks.changed)) marks.changed.delete(key);
  }

  async listSnapshotRefs(id: ResourceId): Promise<RecordRef[]> {
    const out: RecordRef[] = [];
    for (const [key, snapshot] of this.resourceSnapshots(id)) {
      if (snapshot.gone) continue;
      const at = key.indexOf("\u001f");
      const kind = key.slice(0, at);
      out.push({ kind: kind === "" ? null : kind, id: key.slice(at + 1) });
    }
    return out;
  }

  async hasSnapshots(id: ResourceId): Promise<boolean> {
    return this.resourceSnapshots(id).size > 0;
  }

  async countSnapshots(id: ResourceId): Promise<number> {
    return (await this.listSnapshotRefs(id)).length;
  }

  async clearResource(id: ResourceId): Promise<void> {
    this.check("clearResource");
    this.snapshots.delete(`${id.source}/${id.resource}`);
    this.marks.delete(`${id.source}/${id.resource}`);
    this.staged.delete(`${id.source}/${id.resource}`);
    this.undo.delete(`${id.source}/${id.resource}`);
    this.resources.delete(`${id.source}/${id.resource}`);
  }

  private readonly staged = new Map<string, EnqueueItem[]>();
  private readonly undo = new Map<string, Map<string, Snapshot | undefined>>();

  /** Both writes or neither: a failure injected here leaves nothing (nothing is written before the check). */
  async commitPage(id: ResourceId, items: EnqueueItem[], writes: SnapshotWrite[], staged = false): Promise<Delivery[]> {
    this.check("commitPage");
    const key = `${id.source}/${id.resource}`;
    let created: Delivery[] = [];
    if (staged) {
      this.staged.set(key, [...(this.staged.get(key) ?? []), ...items.map(clone)]);
      const undo = this.undo.get(key) ?? new Map<string, Snapshot | undefined>();
      this.undo.set(key, undo);
      const map = this.resourceSnapshots(id);
      for (const write of writes) if (!undo.has(refKey(write))) undo.set(refKey(write), clone(map.get(refKey(write))));
    } else {
      created = await this.enqueue(items);
    }
    await this.putSnapshots(id, writes);
    return created;
  }

  async releaseStaged(id: ResourceId): Promise<ReleasedStaging> {
    this.check("releaseStaged");
    const key = `${id.source}/${id.resource}`;
    const items = this.staged.get(key) ?? [];
    this.staged.delete(key);
    this.undo.delete(key);
    return { deliveries: await this.enqueue(items), items };
  }

  async stagedResources(): Promise<ResourceId[]> {
    this.check("stagedResources");
    return [...this.staged.keys()].map((key) => ({ source: key.slice(0, key.indexOf("/")), resource: key.slice(key.indexOf("/") + 1) }));
  }

  async discardStaged(id: ResourceId): Promise<number> {
    this.check("discardStaged");
    const key = `${id.source}/${id.resource}`;
    const dropped = (this.staged.get(key) ?? []).length;
    const map = this.resourceSnapshots(id);
    for (const [record, before] of this.undo.get(key) ?? []) {
      if (before) map.set(record, before);
      else map.delete(record);
    }
    this.staged.delete(key);
    this.undo.delete(key);
    return dropped;
  }

  async enqueue(items: EnqueueItem[]): Promise<Delivery[]> {
    this.check("enqueue");
    const now = this.clock.now();
    const created: Delivery[] = [];
    for (const item of items) {
      const id = item.event.envelope.id;
      if (this.events.has(id)) continue;
      this.events.set(id, item.event.body);
      this.byRecord.set(item.recordKey, [...(this.byRecord.get(item.recordKey) ?? []), id]);
      for (const target of item.targets) created.push(this.addPending(target, id, item.recordKey, now));
      for (const [target, body] of Object.entries(item.fixed ?? {})) this.fixed.set(`${target}/${id}`, body);
      for (const { log, dead } of routingRecords([item], now)) {
        if (dead) {
          this.seq += 1;
          this.dead.set(this.seq, { ...dead, seq: this.seq });
        }
        this.log.push(log);
      }
    }
    return created.map(clone);
  }

  private addPending(target: string, eventId: string, recordKey: string, now: number): Delivery {
    this.seq += 1;
    const delivery: Delivery = { seq: this.seq, target, eventId, recordKey, attempts: 0, nextAttemptAt: now };
    this.pending.set(delivery.seq, delivery);
    return delivery;
  }

  async getEvent(eventId: string, target?: string): Promise<StoredEvent | undefined> {
    this.check("getEvent");
    return this.eventOf(eventId, target);
  }

  async getEvents(eventIds: readonly string[], target?: string): Promise<Map<string, StoredEvent>> {
    this.check("getEvents");
    const events = new Map<string, StoredEvent>();
    for (const id of eventIds) {
      const event = this.eventOf(id, target);
      if (event) events.set(id, event);
    }
    return events;
  }

  private eventOf(eventId: string, target?: string): StoredEvent | undefined {
    const body = this.events.get(eventId);
    if (body === undefined) return undefined;
    const event: StoredEvent = { body, envelope: JSON.parse(body) as StoredEvent["envelope"] };
    const fixed = target === undefined ? undefined : this.fixed.get(`${target}/${eventId}`);
    if (fixed !== undefined) event.fixed = fixed;
    return event;
  }

  async putFixedBody(eventId: string, target: string, body: string): Promise<void> {
    this.check("putFixedBody");
    this.fixed.set(`${target}/${eventId}`, body);
  }

  async hasEvent(eventId: string): Promise<boolean> {
    return this.events.has(eventId);
  }

  async listEventIdsForRecord(recordKey: string, limit = 1000): Promise<string[]> {
    return (this.byRecord.get(recordKey) ?? []).slice(-limit);
  }

  async listPending(target?: string): Promise<Delivery[]> {
    return [...this.pending.values()]
      .filter((d) => target === undefined || d.target === target)
      .sort((a, b) => (a.target === b.target ? a.seq - b.seq : a.target < b.target ? -1 : 1))
      .map(clone);
  }

  async updateDelivery(delivery: Delivery): Promise<void> {
    this.check("updateDelivery");
    if (!this.pending.has(delivery.seq)) throw new Error(`no pending delivery ${delivery.seq}`);
    this.pending.set(delivery.seq, clone(delivery));
  }

  async ackDelivery(delivery: Delivery, log: DeliveryLogEntry): Promise<void> {
    this.check("ackDelivery");
    this.pending.delete(delivery.seq);
    this.log.push(clone(log));
  }

  async deadLetter(delivery: Delivery, dead: Omit<DeadLetter, "seq">, log: DeliveryLogEntry): Promise<void> {
    this.check("deadLetter");
    this.pending.delete(delivery.seq);
    this.dead.set(delivery.seq, { ...clone(dead), seq: delivery.seq });
    this.log.push(clone(log));
  }

  async listDeadLetters(target?: string): Promise<DeadLetter[]> {
    return [...this.dead.values()].filter((d) => target === undefined || d.target === target).map(clone);
  }

  async requeueDeadLetters(target?: string, eventId?: string, to?: string): Promise<Delivery[]> {
    this.check("requeueDeadLetters");
    const now = this.clock.now();
    const created: Delivery[] = [];
    for (const [seq, dead] of [...this.dead]) {
      if ((target !== undefined && dead.target !== target) || (eventId !== undefined && dead.eventId !== eventId)) continue;
      this.dead.delete(seq);
      created.push(this.addPending(to ?? dead.target, dead.eventId, dead.recordKey, now));
    }
    return created.map(clone);
  }

  async requeueEvent(eventId: string, targets: string[], recordKey: string): Promise<Delivery[]> {
    this.check("requeueEvent");
    if (!this.events.has(eventId)) throw new Error(`no event ${eventId} in state`);
    const now = this.clock.now();
    return targets.map((target) => clone(this.addPending(target, eventId, recordKey, now)));
  }

  async deadLetterPendingExcept(targets: string[]): Promise<Record<string, number>> {
    this.check("deadLetterPendingExcept");
    const keep = new Set(targets);
    const at = new Date(this.clock.now()).toISOString();
    const moved: Record<string, number> = {};
    for (const [seq, delivery] of [...this.pending]) {
      if (keep.has(delivery.target)) continue;
      moved[delivery.target] = (moved[delivery.target] ?? 0) + 1;
      this.pending.delete(seq);
      this.dead.set(seq, { seq, target: delivery.target, eventId: delivery.eventId, recordKey: delivery.recordKey, at, attempts: delivery.attempts, reason: removedTargetReason(delivery.target) });
    }
    return moved;
  }

  async pendingTargets(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const delivery of this.pending.values()) counts[delivery.target] = (counts[delivery.target] ?? 0) + 1;
    return counts;
  }

  async queueGauges(target: string): Promise<QueueGauges> {
    const pending = [...this.pending.values()].filter((d) => d.target === target).sort((a, b) => a.seq - b.seq);
    const deadLetters = [...this.dead.values()].filter((d) => d.target === target).length;
    return { pending: pending.length, deadLetters, ...(pending[0] ? { oldestPendingEventId: pending[0].eventId } : {}) };
  }

  async appendLog(entry: DeliveryLogEntry): Promise<void> {
    this.check("appendLog");
    this.log.push(clone(entry));
  }

  async listLog(filter: { target?: string; limit?: number }): Promise<DeliveryLogEntry[]> {
    return this.log
      .filter((entry) => filter.target === undefined || entry.target === filter.target)
      .reverse()
      .slice(0, filter.limit ?? 100)
      .map(clone);
  }

  async getTargetState(target: string): Promise<TargetState | undefined> {
    return clone(this.targetStates.get(target));
  }

  async putTargetState(target: string, state: TargetState): Promise<void> {
    this.check("putTargetState");
    this.targetStates.set(target, clone(state));
  }

  async appendPass(id: ResourceId, entry: PassEntry): Promise<void> {
    this.check("appendPass");
    const key = `${id.source}/${id.resource}`;
    const list = this.passes.get(key) ?? [];
    list.push(clone(entry));
    if (list.length > PASS_HISTORY_LIMIT) list.splice(0, list.length - PASS_HISTORY_LIMIT);
    this.passes.set(key, list);
  }

  async listPasses(id: ResourceId): Promise<PassEntry[]> {
    return (this.passes.get(`${id.source}/${id.resource}`) ?? []).map(clone);
  }

  async getBudget(source: string): Promise<BudgetState | undefined> {
    return clone(this.budgets.get(source));
  }

  async putBudget(source: string, budget: BudgetState): Promise<void> {
    this.check("putBudget");
    this.budgets.set(source, clone(budget));
  }

  private series: SeriesState | undefined;

  async getSeries(): Promise<SeriesState | undefined> {
    return this.series && clone(this.series);
  }

  async putSeries(series: SeriesState): Promise<void> {
    this.check("putSeries");
    this.series = clone(series);
  }

  async updateSeries(apply: (current: SeriesState | undefined) => SeriesState): Promise<void> {
    this.check("updateSeries");
    this.series = clone(apply(this.series && clone(this.series)));
  }

  private readonly horizons: Partial<Record<PrunableKind, string>> = {};

  /** The whole sweep in one call (no file to keep small steps for). */
  async pruneStep(kind: PrunableKind, before: number): Promise<PruneResult> {
    this.check("pruneStep");
    const old = (at: string | undefined): boolean => at !== undefined && Date.parse(at) < before;
    let removed = 0;
    if (kind === "events") {
      const pinned = new Set([...this.pending.values(), ...this.dead.values()].map((d) => d.eventId));
      for (const [id, body] of [...this.events]) {
        if (pinned.has(id) || !old((JSON.parse(body) as { detected_at?: string }).detected_at)) continue;
        this.events.delete(id);
        for (const key of [...this.fixed.keys()]) if (key.endsWith(`/${id}`)) this.fixed.delete(key);
        for (const [record, ids] of this.byRecord) this.byRecord.set(record, ids.filter((other) => other !== id));
        removed += 1;
      }
    } else if (kind === "delivery_log") {
      const kept = this.log.filter((entry) => !old(entry.at));
      removed = this.log.length - kept.length;
      this.log.splice(0, this.log.length, ...kept);
    } else if (kind === "dead_letters") {
      for (const [seq, letter] of [...this.dead]) if (old(letter.at) && this.dead.delete(seq)) removed += 1;
    } else {
      for (const [key, list] of this.passes) {
        const kept = list.filter((entry) => !old(entry.at));
        removed += list.length - kept.length;
        this.passes.set(key, kept);
      }
    }
    this.horizons[kind] = new Date(before).toISOString();
    return { removed, done: true };
  }

  async reclaimSpace(): Promise<number> {
    return 0;
  }

  async stateSizes(): Promise<StateSizes> {
    const kinds = Object.fromEntries(STATE_KINDS.map((kind) => [kind, { count: 0, bytes: 0 }])) as StateSizes["kinds"];
    const add = (kind: StateKind, values: Iterable<unknown>): void => {
      for (const value of values) {
        kinds[kind].count += 1;
        kinds[kind].bytes += Buffer.byteLength(typeof value === "string" ? value : JSON.stringify(value));
      }
    };
    add("events", this.events.values());
    add("fixed_bodies", this.fixed.values());
    add("pending", this.pending.values());
    add("dead_letters", this.dead.values());
    add("delivery_log", this.log);
    add("pass_journal", [...this.passes.values()].flat());
    add("snapshots", [...this.snapshots.values()].flatMap((map) => [...map.values()]));
    return { kinds, fileBytes: 0, freeBytes: 0, reclaim: "in memory" };
  }

  async pruneHorizons(): Promise<Partial<Record<PrunableKind, string>>> {
    return { ...this.horizons };
  }

  async close(): Promise<void> {}
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}
