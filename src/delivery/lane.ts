import type { KeyObject } from "node:crypto";
import type { TargetConfig } from "../config/types.js";
import { closedBreaker, type BreakerState } from "../core/breaker.js";
import type { Delivery, TargetState } from "../store/store.js";
import { DueHeap } from "./due-heap.js";
import type { ReadAhead } from "./read-ahead.js";
import type { Transport } from "../transports/index.js";

/**
 * The in-memory index of one target's pending deliveries: per record key a queue in `seq`
 * order, and a heap of the queue heads that may be attempted (not in flight), by due time.
 * Only a head is ever attempted, and only one per record at a time: that is the per-record
 * order guarantee. Every operation is O(log n).
 */

export interface Entry {
  delivery: Delivery;
  /** `detected_at + max_age` (ms), known once the event has been read. */
  deadline?: number;
  /** Its current heap item, when it is a schedulable head. */
  queued?: HeapItem;
  /** Taken for an attempt (or a dead letter) and not yet released. */
  busy?: boolean;
}

interface HeapItem {
  readonly at: number;
  readonly seq: number;
  readonly entry: Entry;
}

const MAX_ACKING = 64;

export type OperatorPause = NonNullable<TargetState["paused"]>;

export class TargetLane {
  private readonly records = new Map<string, Entry[]>();
  private readonly bySeq = new Map<number, Entry>();
  private readonly busyRecords = new Set<string>();
  private readonly heap = new DueHeap<HeapItem>();
  /** Sends in flight (at most `concurrency`). */
  inFlight = 0;
  /** Delivered sends whose ack is still being recorded (with `inFlight`, at most `maxAcking`). */
  acking = 0;
  probing = false;
  sweeping = false;
  breaker: BreakerState = closedBreaker();
  paused?: OperatorPause;
  /** Records whose head was set aside by `park` until `unpark`. */
  private readonly parked = new Set<string>();
  /** Seqs finished while a reload was reading the store: its (older) copy must not bring them back. */
  private finishedDuringLoad?: Set<number>;
  private loads = 0;

  constructor(
    readonly target: TargetConfig,
    readonly transport: Transport,
    /** The Standard Webhooks key, prepared once; undefined when the target has no secret. */
    readonly key: KeyObject | undefined,
    /** The attempts' event reads, several heads per query. */
    readonly reads: ReadAhead,
  ) {}

  get name(): string {
    return this.target.name;
  }

  get concurrency(): number {
    return Math.max(1, this.target.concurrency || 1);
  }

  /**
   * Sends in flight plus acks being recorded, at most: the state store commits acks in batches
   * while the next sends go. Bounded so that a state store that stops answering leaves few
   * sent-but-unrecorded deliveries (each is sent again, under its id, after a restart).
   */
  get maxAcking(): number {
    return Math.max(MAX_ACKING, this.concurrency);
  }

  get pendingCount(): number {
    return this.bySeq.size;
  }

  has(seq: number): boolean {
    return this.bySeq.has(seq);
  }

  beginLoad(): void {
    this.loads += 1;
    this.finishedDuringLoad ??= new Set();
  }

  endLoad(): void {
    this.loads -= 1;
    if (this.loads === 0) this.finishedDuringLoad = undefined;
  }

  /** Adds a pending delivery; false when it is already known (or just finished). */
  add(delivery: Delivery): boolean {
    if (this.bySeq.has(delivery.seq) || this.finishedDuringLoad?.has(delivery.seq)) return false;
    const entry: Entry = { delivery };
    this.bySeq.set(delivery.seq, entry);
    let queue = this.records.get(delivery.recordKey);
    if (!queue) {
      queue = [];
      this.records.set(delivery.recordKey, queue);
    }
    let index = queue.length;
    while (index > 0 && (queue[index - 1]?.delivery.seq ?? 0) > delivery.seq) index -= 1;
    const previousHead = queue[0];
    queue.splice(index, 0, entry);
    if (index === 0 && previousHead) previousHead.queued = undefined;
    this.scheduleHead(delivery.recordKey);
    return true;
  }

  /**
   * Forgets a pending delivery that is not in flight: it stays in the outbox for the replica
   * that now owns its source (a later reload may bring it back here).
   */
  drop(entry: Entry): void {
    if (entry.busy || this.bySeq.get(entry.delivery.seq) !== entry) return;
    entry.queued = undefined;
    this.remove(entry);
    this.scheduleHead(entry.delivery.recordKey);
  }

  /** Drops every pending delivery (not in flight) that `matches`. */
  dropWhere(matches: (delivery: Delivery) => boolean): void {
    for (const entry of [...this.bySeq.values()]) if (matches(entry.delivery)) this.drop(entry);
  }

  /** The schedulable head due first, without taking it. */
  peek(): Entry | undefined {
    for (;;) {
      const item = this.heap.peek();
      if (!item) return undefined;
      if (this.isValid(item)) return item.entry;
      this.heap.pop();
    }
  }

  /**
   * Sets a schedulable head aside until `unpark` (replicas: its source's lease is not ready for
   * a delivery yet): the heads behind it in due order — other records, other sources — go on,
   * and no wake-up is set for it (whoever makes the lease ready calls `unpark`).
   */
  park(entry: Entry): void {
    entry.queued = undefined;
    this.parked.add(entry.delivery.recordKey);
  }

  /** Puts the parked heads back in the due order. */
  unpark(): void {
    if (this.parked.size === 0) return;
    const keys = [...this.parked];
    this.parked.clear();
    for (const key of keys) this.scheduleHead(key);
  }

  /** Marks a schedulable head as in flight; its record gets no other attempt until `release`. */
  take(entry: Entry): void {
    entry.queued = undefined;
    entry.busy = true;
    this.busyRecords.add(entry.delivery.recordKey);
  }

  /**
   * Ends an attempt. `done`: the delivery left the outbox (acked or dead-lettered) and the next
   * one of its record becomes the head. `again`: it stays pending with `entry.delivery` updated.
   */
  release(entry: Entry, result: "done" | "again"): void {
    if (!entry.busy) return;
    entry.busy = false;
    const key = entry.delivery.recordKey;
    this.busyRecords.delete(key);
    if (result === "done") {
      this.remove(entry);
      this.finishedDuringLoad?.add(entry.delivery.seq);
    }
    this.scheduleHead(key);
  }

  /** Takes an entry out of the index and out of its record's queue. */
  private remove(entry: Entry): void {
    this.bySeq.delete(entry.delivery.seq);
    const key = entry.delivery.recordKey;
    const queue = this.records.get(key);
    if (queue) {
      const index = queue.indexOf(entry);
      if (index >= 0) queue.splice(index, 1);
      if (queue.length === 0) this.records.delete(key);
    }
  }

  /**
   * The event ids of up to `limit` schedulable heads due by `dueBy`, in the order they would be
   * taken (their events are read ahead, together); the heads stay where they are.
   */
  upcoming(limit: number, dueBy: number): string[] {
    const items: HeapItem[] = [];
    while (items.length < limit) {
      const entry = this.peek();
      if (!entry || entry.delivery.nextAttemptAt > dueBy) break;
      items.push(this.heap.pop()!);
    }
    for (const item of items) this.heap.push(item);
    return items.map((item) => item.entry.delivery.eventId);
  }

  /** Schedulable heads due at `now` (for the max_age sweep of a paused target). */
  dueHeads(now: number): Entry[] {
    return this.heap
      .values()
      .filter((item) => item.at <= now && this.isValid(item))
      .map((item) => item.entry);
  }

  isSchedulableHead(entry: Entry): boolean {
    return entry.queued !== undefined && this.isValid(entry.queued);
  }

  /** The head of a record, when it may be attempted. */
  headOf(recordKey: string): Entry | undefined {
    const head = this.records.get(recordKey)?.[0];
    return head && this.isSchedulableHead(head) ? head : undefined;
  }

  /** Every pending delivery with the earliest time it can go: a later one of a record waits for the earlier. */
  pending(): Array<{ delivery: Delivery; earliest: number }> {
    const out: Array<{ delivery: Delivery; earliest: number }> = [];
    for (const queue of this.records.values()) {
      let earliest = 0;
      for (const entry of queue) {
        earliest = Math.max(earliest, entry.delivery.nextAttemptAt);
        out.push({ delivery: entry.delivery, earliest });
      }
    }
    return out;
  }

  private scheduleHead(recordKey: string): void {
    if (this.busyRecords.has(recordKey)) return;
    const head = this.records.get(recordKey)?.[0];
    if (!head || head.queued) return;
    const item: HeapItem = { at: head.delivery.nextAttemptAt, seq: head.delivery.seq, entry: head };
    head.queued = item;
    this.heap.push(item);
  }

  private isValid(item: HeapItem): boolean {
    const entry = item.entry;
    const key = entry.delivery.recordKey;
    return (
      entry.queued === item &&
      !this.busyRecords.has(key) &&
      this.bySeq.get(entry.delivery.seq) === entry &&
      this.records.get(key)?.[0] === entry
    );
  }
}
