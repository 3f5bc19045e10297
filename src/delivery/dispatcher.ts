import type { KeyObject } from "node:crypto";
import { setMaxListeners } from "node:events";
import { setTimeout as sleepReal } from "node:timers/promises";
import type { Clock } from "../clock.js";
import { realNow as wallClock } from "../clock.js";
import type { TargetConfig } from "../config/types.js";
import { breakerGate, DEFAULT_BREAKER_OPTIONS, type BreakerOptions, type BreakerState } from "../core/breaker.js";
import { preparedKey } from "../core/sign.js";
import { ConfigError, errorMessage } from "../errors.js";
import { withoutFence } from "../store/fence.js";
import type { Delivery, StateStore, StoredEvent } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import { asTransportTarget, transportOf, type ConnectionStatus } from "../transports/index.js";
import { Attempts, type AttemptReport } from "./attempts.js";
import { TargetLane, type Entry, type OperatorPause } from "./lane.js";
import { ReadAhead } from "./read-ahead.js";
import { pauseLane, resumeLane, sendTestMessage, type TestSend } from "./operator.js";

export type { AttemptReport } from "./attempts.js";
export type { TestSend } from "./operator.js";

/**
 * Delivers pending outbox entries: per target, route → format → sign → send through the
 * target's transport → ack, retry or dead letter, with a delivery log entry for every attempt
 * (`attempts.ts`). This file schedules: which delivery may go when.
 *
 * Order: per (target, record) strictly in `seq` order — a later delivery of a record is not
 * attempted while an earlier one is pending; a dead letter unblocks the next. Different records
 * go concurrently, up to `target.concurrency`.
 *
 * The pending set lives in memory (loaded by `start`/`runOnce` from `store.listPending`); after
 * `store.enqueue` the pipeline passes the returned deliveries to `enqueued()` (or calls
 * `notify()`, which re-reads the store). A timer on the clock wakes it for the earliest retry.
 */

export interface DispatcherOptions {
  store: StateStore;
  targets: TargetConfig[];
  clock: Clock;
  logger: Logger;
  /** Jitter source in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Wall clock for `webhook-timestamp` (receivers reject stale ones). Default `Date.now`. */
  realNow?: () => number;
  /** Default `retrohook/<package version>`. */
  userAgent?: string;
  breaker?: Partial<BreakerOptions>;
  /** Called after every attempt (metrics). */
  onAttempt?: (attempt: AttemptReport) => void;
  /**
   * Replicas: whether this process delivers `delivery` (it holds the lease of its source) with
   * an attempt that may take `forMs`: `no` — not indexed, or dropped before it would be
   * attempted; `wait` — kept, not started yet.
   */
  owns?: (delivery: Delivery, forMs: number) => "yes" | "wait" | "no";
}

export interface RunOnceResult {
  delivered: number;
  retried: number;
  dead: number;
  /** State writes that failed during the run (each logged); the deliveries stay pending. */
  stateErrors: number;
  /** Still pending after the run, earliest first; `nextAttemptAt` waits for earlier deliveries of the same record. */
  pending: Array<{ target: string; eventId: string; nextAttemptAt: number }>;
}

export interface TargetStatus {
  name: string;
  pending: number;
  inFlight: number;
  /** Paused by an operator (persisted). */
  paused?: OperatorPause;
  breaker: BreakerState;
  /** The broker connection's state (transports with a long-lived connection). */
  connection?: ConnectionStatus;
}

export class Dispatcher {
  private readonly store: StateStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly attempts: Attempts;
  private readonly lanes = new Map<string, TargetLane>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private running = false;
  private stopping = false;
  private loaded = false;
  /** Set during `runOnce`: only deliveries due at or before this instant are attempted. */
  private onceCutoff?: number;
  private timer?: { at: number; controller: AbortController };
  private notifying?: Promise<void>;
  private notifyAgain = false;
  private readonly warnedUnknown = new Set<string>();
  private readonly owns: (delivery: Delivery, forMs: number) => "yes" | "wait" | "no";

  constructor(options: DispatcherOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.owns = options.owns ?? (() => "yes");
    this.attempts = new Attempts({
      store: options.store,
      clock: options.clock,
      logger: options.logger,
      random: options.random ?? Math.random,
      realNow: options.realNow ?? wallClock,
      breakerOptions: { ...DEFAULT_BREAKER_OPTIONS, ...options.breaker },
      ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
      signal: this.abort.signal,
      isStopping: () => this.stopping,
      track: (task) => this.track(task, () => this.startDueEverywhere()),
    });
    // One listener per attempt in flight, across all targets.
    setMaxListeners(0, this.abort.signal);
    for (const target of options.targets) {
      let key: KeyObject | undefined;
      try {
        key = target.secret ? preparedKey(target.secret) : undefined;
      } catch (error) {
        throw new ConfigError(`targets.${target.name}.secret: ${errorMessage(error)}`);
      }
      const transport = transportOf(target).create(asTransportTarget(target), {
        ...(options.userAgent ? { userAgent: options.userAgent } : {}),
        now: () => this.clock.now(),
      });
      this.lanes.set(target.name, new TargetLane(target, transport, key, new ReadAhead(options.store, target.name, () => this.clock.now())));
    }
  }

  /** Loads the pending deliveries and operator pauses, then delivers in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.stopping) throw new Error("dispatcher was stopped");
    await this.ensureLoaded();
    this.running = true;
    this.startDueEverywhere();
  }

  /**
   * One attempt for every delivery due now (all targets), following each record's chain as
   * earlier deliveries succeed; never waits for a later retry. For `retrohook once`; not while started.
   */
  async runOnce(): Promise<RunOnceResult> {
    if (this.running) throw new Error("runOnce while the dispatcher runs in the background");
    await this.ensureLoaded();
    const counters = this.attempts.counters;
    const before = { ...counters };
    this.onceCutoff = this.clock.now();
    try {
      for (;;) {
        this.startDueEverywhere();
        if (this.inFlight.size === 0) break;
        await Promise.race(this.inFlight);
      }
    } finally {
      this.onceCutoff = undefined;
    }
    const pending: RunOnceResult["pending"] = [];
    for (const lane of this.lanes.values()) {
      for (const { delivery, earliest } of lane.pending()) {
        pending.push({ target: lane.name, eventId: delivery.eventId, nextAttemptAt: earliest });
      }
    }
    pending.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
    return {
      delivered: counters.delivered - before.delivered,
      retried: counters.retried - before.retried,
      dead: counters.dead - before.dead,
      stateErrors: counters.stateErrors - before.stateErrors,
      pending,
    };
  }

  /**
   * Stops taking work, waits for attempts in flight up to `graceMs` (real time), then aborts the
   * rest; an aborted attempt stays pending and is sent again on the next start.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.running = false;
    this.cancelWakeUp();
    if (this.inFlight.size > 0) {
      const grace = new AbortController();
      await Promise.race([Promise.allSettled([...this.inFlight]), sleepReal(graceMs, undefined, { signal: grace.signal }).catch(() => undefined)]);
      grace.abort();
      if (this.inFlight.size > 0) {
        this.abort.abort();
        await Promise.allSettled([...this.inFlight]);
      }
    }
    if (this.notifying) await this.notifying.catch(() => undefined);
    await Promise.allSettled([...this.lanes.values()].map((lane) => lane.transport.close()));
  }

  /** The deliveries `store.enqueue` (or a requeue) returned: indexed and sent when due. */
  enqueued(deliveries: readonly Delivery[]): void {
    for (const delivery of deliveries) this.index(delivery);
    this.startDueEverywhere();
  }

  /** Starts what became due or deliverable (a replica's lease now read and ready). */
  kick(): void {
    for (const lane of this.lanes.values()) lane.unpark();
    this.startDueEverywhere();
  }

  /** Forgets the pending deliveries (not in flight) that `matches`: a lease moved to another replica. */
  forget(matches: (delivery: Delivery) => boolean): void {
    for (const lane of this.lanes.values()) lane.dropWhere(matches);
  }

  /** Something was written to the outbox by a path that did not call `enqueued`: re-read it. */
  notify(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = (async () => {
      do {
        this.notifyAgain = false;
        await this.reload();
        this.startDueEverywhere();
      } while (this.notifyAgain && !this.stopping);
    })()
      .catch((error: unknown) => this.logger.error({ err: errorMessage(error) }, "reading pending deliveries failed"))
      .finally(() => {
        this.notifying = undefined;
      });
  }

  /** Merges the store's pending deliveries into the index (adds the unknown ones). */
  async reload(): Promise<void> {
    for (const lane of this.lanes.values()) lane.beginLoad();
    const unknown = new Map<string, number>();
    try {
      const pending = await this.store.listPending();
      for (const delivery of pending) {
        if (!this.lanes.has(delivery.target)) unknown.set(delivery.target, (unknown.get(delivery.target) ?? 0) + 1);
        else this.index(delivery);
      }
    } finally {
      for (const lane of this.lanes.values()) lane.endLoad();
    }
    for (const [target, count] of unknown) {
      if (this.warnedUnknown.has(target)) continue;
      this.warnedUnknown.add(target);
      this.logger.warn({ target, count }, "pending deliveries for a target not in the config are not sent");
    }
  }

  // ---- operator actions (operator.ts) ----

  /** Operator pause: no attempts for the target until `resume`; persisted, it survives restarts. */
  async pause(target: string, reason = "paused by an operator"): Promise<void> {
    await pauseLane(this.operatorContext(), this.lane(target), reason);
  }

  async resume(target: string): Promise<void> {
    await resumeLane(this.operatorContext(), this.lane(target));
    this.startDueEverywhere();
  }

  /**
   * `retrohook test-target` / the UI's test button: one signed send of `event` (a
   * `retrohook.test` envelope) straight to the target, outside the outbox: nothing is stored.
   */
  async sendTest(target: string, event: StoredEvent): Promise<TestSend> {
    const lane = this.lane(target);
    return sendTestMessage(lane, this.attempts.message(lane, event), this.abort.signal);
  }

  status(): TargetStatus[] {
    return [...this.lanes.values()].map((lane) => ({
      name: lane.name,
      pending: lane.pendingCount,
      inFlight: lane.inFlight,
      ...(lane.paused ? { paused: lane.paused } : {}),
      breaker: lane.breaker,
      ...(lane.transport.connection ? { connection: lane.transport.connection() } : {}),
    }));
  }

  // ---- scheduling ----

  private operatorContext(): { store: StateStore; clock: Clock; logger: Logger } {
    return { store: this.store, clock: this.clock, logger: this.logger };
  }

  private lane(target: string): TargetLane {
    const lane = this.lanes.get(target);
    if (!lane) throw new Error(`no target named ${target}`);
    return lane;
  }

  private async ensureLoaded(): Promise<void> {
    if (this.loaded) return;
    for (const lane of this.lanes.values()) {
      const state = await this.store.getTargetState(lane.name);
      if (state?.paused) lane.paused = state.paused;
    }
    await this.reload();
    this.loaded = true;
  }

  private index(delivery: Delivery): void {
    if (this.owns(delivery, 0) === "no") return;
    this.lanes.get(delivery.target)?.add(delivery);
  }

  private active(): boolean {
    return !this.stopping && (this.running || this.onceCutoff !== undefined);
  }

  /** Starts what is due on every lane, then sets the wake-up for the next due moment. */
  private startDueEverywhere(): void {
    for (const lane of this.lanes.values()) this.startDue(lane);
    this.scheduleWakeUp();
  }

  /** Starts a lane's due heads, up to its concurrency, as its breaker allows. */
  private startDue(lane: TargetLane): void {
    if (!this.active() || lane.paused) return;
    const now = this.clock.now();
    const dueBy = this.onceCutoff ?? now;
    while (lane.inFlight < lane.concurrency && lane.inFlight + lane.acking < lane.maxAcking) {
      const entry = lane.peek();
      if (!entry || entry.delivery.nextAttemptAt > dueBy) return;
      const owned = this.owns(entry.delivery, lane.target.timeout);
      if (owned === "no") {
        lane.drop(entry);
        continue;
      }
      // Not yet (a lease not read or about to end): set aside until the next kick, the rest goes on.
      if (owned === "wait") {
        lane.park(entry);
        continue;
      }
      const gate = breakerGate(lane.breaker, now);
      if (gate === "wait") return;
      if (gate === "probe" && (lane.probing || lane.inFlight > 0)) return;
      lane.take(entry);
      this.launch(lane, entry, gate === "probe");
      if (gate === "probe") return;
    }
  }

  private launch(lane: TargetLane, entry: Entry, probe: boolean): void {
    lane.inFlight += 1;
    if (probe) lane.probing = true;
    // A delivered send frees its slot at once; its ack, still being recorded, counts in `acking`
    // (bounded) and keeps the record taken until it is stored. A probe keeps its slot to the end.
    let acking = false;
    const sent = probe
      ? undefined
      : (): void => {
          acking = true;
          lane.inFlight -= 1;
          lane.acking += 1;
          this.startDue(lane);
          this.scheduleWakeUp();
        };
    // Outside the fence of a pass that may have woken the dispatcher: deliveries are no pass's writes.
    const task = withoutFence(() => this.attempts.run(lane, entry, probe, sent)).catch((error: unknown) => {
      // Unexpected (a bug, not a receiver or state failure): the delivery stays pending.
      if (entry.busy) this.attempts.stateFailure(lane, entry, "attempting a delivery", error);
      else this.logger.error({ target: lane.name, err: errorMessage(error) }, "delivery attempt failed unexpectedly");
    });
    this.track(task, () => {
      if (acking) lane.acking -= 1;
      else lane.inFlight -= 1;
      if (probe) lane.probing = false;
      this.startDue(lane);
      this.scheduleWakeUp();
    });
  }

  /** Counts a task as in flight (`stop` and `runOnce` wait for it); `after` runs once it settled. */
  private track(work: Promise<void>, after: () => void): void {
    const task: Promise<void> = work.finally(() => {
      this.inFlight.delete(task);
      after();
    });
    this.inFlight.add(task);
  }

  /** One timer on the clock, for the earliest moment some lane could start an attempt. */
  private scheduleWakeUp(): void {
    if (!this.running || this.stopping) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const lane of this.lanes.values()) {
      if (lane.paused || lane.inFlight >= lane.concurrency || lane.inFlight + lane.acking >= lane.maxAcking) continue;
      const head = lane.peek();
      if (!head) continue;
      let at = head.delivery.nextAttemptAt;
      if (lane.breaker.status === "open") {
        if (lane.inFlight > 0) continue;
        at = Math.max(at, lane.breaker.probeAt);
      }
      earliest = Math.min(earliest, at);
    }
    if (earliest === Number.POSITIVE_INFINITY) {
      this.cancelWakeUp();
      return;
    }
    if (this.timer?.at === earliest) return;
    this.cancelWakeUp();
    const timer = { at: earliest, controller: new AbortController() };
    this.timer = timer;
    void this.clock.sleep(Math.max(0, earliest - this.clock.now()), timer.controller.signal).then(() => {
      if (this.timer !== timer) return;
      this.timer = undefined;
      this.startDueEverywhere();
    });
  }

  private cancelWakeUp(): void {
    this.timer?.controller.abort();
    this.timer = undefined;
  }
}
