import { setMaxListeners } from "node:events";
import { setTimeout as sleepReal } from "node:timers/promises";
import type { Clock } from "../clock.js";
import { realNow as wallClock } from "../clock.js";
import type { TargetConfig } from "../config/types.js";
import {
  breakerFailure,
  breakerGate,
  breakerSuccess,
  DEFAULT_BREAKER_OPTIONS,
  type BreakerOptions,
  type BreakerState,
} from "../core/breaker.js";
import { renderBody } from "../core/formats/index.js";
import { classify, formatDuration, parseRetryAfter, planRetry, type Classification } from "../core/retry-policy.js";
import { signingKey, standardWebhookHeaders } from "../core/sign.js";
import { ConfigError, errorMessage } from "../errors.js";
import type { Delivery, DeliveryLogEntry, StateStore, StoredEvent } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import { scrub, scrubUrl } from "../telemetry/logger.js";
import { crashPoint } from "../testing/crash-points.js";
import { TargetLane, type Entry, type OperatorPause } from "./lane.js";
import { TargetClient, type PostResult } from "./post.js";

/**
 * Delivers pending outbox entries: per target, route → format → sign → POST → ack, retry or
 * dead letter, with a delivery log entry for every attempt.
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
}

export interface AttemptReport {
  target: string;
  eventId: string;
  outcome: DeliveryLogEntry["outcome"];
  status?: number;
  latencyMs: number;
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
}

/** In-memory back-off after a failed state write, before the delivery is tried again. */
const STATE_ERROR_BACKOFF_MS = 5_000;

interface Counters {
  delivered: number;
  retried: number;
  dead: number;
  stateErrors: number;
}

export class Dispatcher {
  private readonly store: StateStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly realNow: () => number;
  private readonly breakerOptions: BreakerOptions;
  private readonly onAttempt?: (attempt: AttemptReport) => void;
  private readonly lanes = new Map<string, TargetLane>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly counters: Counters = { delivered: 0, retried: 0, dead: 0, stateErrors: 0 };
  private running = false;
  private stopping = false;
  private loaded = false;
  /** Set during `runOnce`: only deliveries due at or before this instant are attempted. */
  private onceCutoff?: number;
  private timer?: { at: number; controller: AbortController };
  private notifying?: Promise<void>;
  private notifyAgain = false;
  private readonly warnedUnknown = new Set<string>();

  constructor(options: DispatcherOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.random = options.random ?? Math.random;
    this.realNow = options.realNow ?? wallClock;
    this.breakerOptions = { ...DEFAULT_BREAKER_OPTIONS, ...options.breaker };
    this.onAttempt = options.onAttempt;
    // One listener per attempt in flight, across all targets.
    setMaxListeners(0, this.abort.signal);
    for (const target of options.targets) {
      let key: Buffer | undefined;
      try {
        key = target.secret ? signingKey(target.secret) : undefined;
      } catch (error) {
        throw new ConfigError(`targets.${target.name}.secret: ${errorMessage(error)}`);
      }
      const client = new TargetClient(target, options.userAgent ? { userAgent: options.userAgent } : {});
      this.lanes.set(target.name, new TargetLane(target, client, key));
    }
  }

  /** Loads the pending deliveries and operator pauses, then delivers in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.stopping) throw new Error("dispatcher was stopped");
    await this.ensureLoaded();
    this.running = true;
    this.pumpAll();
  }

  /**
   * One attempt for every delivery due now (all targets), following each record's chain as
   * earlier deliveries succeed; never waits for a later retry. For `retrohook once`; not while started.
   */
  async runOnce(): Promise<RunOnceResult> {
    if (this.running) throw new Error("runOnce while the dispatcher runs in the background");
    await this.ensureLoaded();
    const before = { ...this.counters };
    this.onceCutoff = this.clock.now();
    try {
      for (;;) {
        this.pumpAll();
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
      delivered: this.counters.delivered - before.delivered,
      retried: this.counters.retried - before.retried,
      dead: this.counters.dead - before.dead,
      stateErrors: this.counters.stateErrors - before.stateErrors,
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
    this.cancelTimer();
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
    for (const lane of this.lanes.values()) lane.client.close();
  }

  /** The deliveries `store.enqueue` (or a requeue) returned: indexed and sent when due. */
  enqueued(deliveries: readonly Delivery[]): void {
    for (const delivery of deliveries) this.index(delivery);
    this.pumpAll();
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
        this.pumpAll();
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

  /** Operator pause: no attempts for the target until `resume`; persisted, it survives restarts. */
  async pause(target: string, reason = "paused by an operator"): Promise<void> {
    const lane = this.lane(target);
    const paused: OperatorPause = { at: new Date(this.clock.now()).toISOString(), reason };
    await this.store.putTargetState(target, { paused });
    lane.paused = paused;
    this.logger.warn({ target, reason, by: "operator" }, "target paused");
  }

  async resume(target: string): Promise<void> {
    const lane = this.lane(target);
    await this.store.putTargetState(target, {});
    const wasPaused = lane.paused !== undefined || lane.breaker.status === "open";
    lane.paused = undefined;
    // An operator's resume also lets a paused-by-breaker target probe at once.
    if (lane.breaker.status === "open") lane.breaker = { ...lane.breaker, probeAt: this.clock.now() };
    if (wasPaused) this.logger.info({ target, by: "operator" }, "target resumed");
    this.pumpAll();
  }

  /**
   * `retrohook test-target` / the UI's test button: one signed POST of `event` (a
   * `retrohook.test` envelope) straight to the target, outside the outbox: nothing is stored.
   */
  async sendTest(target: string, event: StoredEvent): Promise<{ result: PostResult; verdict: Classification }> {
    const lane = this.lane(target);
    const request = this.signedRequest(lane, event);
    const result = await lane.client.post(request.body, request.headers, this.abort.signal);
    return {
      result,
      verdict: classify({
        ...(result.status !== undefined ? { status: result.status } : {}),
        ...(result.error ? { error: result.error } : {}),
      }),
    };
  }

  status(): TargetStatus[] {
    return [...this.lanes.values()].map((lane) => ({
      name: lane.name,
      pending: lane.pendingCount,
      inFlight: lane.inFlight,
      ...(lane.paused ? { paused: lane.paused } : {}),
      breaker: lane.breaker,
    }));
  }

  // ---- scheduling ----

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
    this.lanes.get(delivery.target)?.add(delivery);
  }

  private active(): boolean {
    return !this.stopping && (this.running || this.onceCutoff !== undefined);
  }

  private pumpAll(): void {
    for (const lane of this.lanes.values()) this.pump(lane);
    this.arm();
  }

  private pump(lane: TargetLane): void {
    if (!this.active() || lane.paused) return;
    const now = this.clock.now();
    const dueBy = this.onceCutoff ?? now;
    while (lane.inFlight < lane.concurrency) {
      const entry = lane.peek();
      if (!entry || entry.delivery.nextAttemptAt > dueBy) return;
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
    const task: Promise<void> = this.attempt(lane, entry, probe)
      .catch((error: unknown) => {
        // Unexpected (a bug, not a receiver or state failure): the delivery stays pending.
        if (entry.busy) this.stateFailure(lane, entry, "attempting a delivery", error);
        else this.logger.error({ target: lane.name, err: errorMessage(error) }, "delivery attempt failed unexpectedly");
      })
      .finally(() => {
        lane.inFlight -= 1;
        if (probe) lane.probing = false;
        this.inFlight.delete(task);
        this.pump(lane);
        this.arm();
      });
    this.inFlight.add(task);
  }

  /** One timer on the clock, for the earliest moment some lane could start an attempt. */
  private arm(): void {
    if (!this.running || this.stopping) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const lane of this.lanes.values()) {
      if (lane.paused || lane.inFlight >= lane.concurrency) continue;
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
      this.cancelTimer();
      return;
    }
    if (this.timer?.at === earliest) return;
    this.cancelTimer();
    const timer = { at: earliest, controller: new AbortController() };
    this.timer = timer;
    void this.clock.sleep(Math.max(0, earliest - this.clock.now()), timer.controller.signal).then(() => {
      if (this.timer !== timer) return;
      this.timer = undefined;
      this.pumpAll();
    });
  }

  private cancelTimer(): void {
    this.timer?.controller.abort();
    this.timer = undefined;
  }

  // ---- one attempt ----

  private async attempt(lane: TargetLane, entry: Entry, probe: boolean): Promise<void> {
    const target = lane.target;
    const delivery = entry.delivery;
    let event: StoredEvent | undefined;
    try {
      event = await this.store.getEvent(delivery.eventId);
    } catch (error) {
      this.stateFailure(lane, entry, "reading the event", error);
      return;
    }
    if (!event) {
      await this.bury(lane, entry, { reason: "event missing from state", attempt: delivery.attempts, eventType: "unknown", latencyMs: 0 });
      return;
    }
    entry.deadline = Date.parse(event.envelope.detected_at) + target.retry.max_age;
    const request = this.signedRequest(lane, event);
    crashPoint("delivery:before-post");
    const result = await lane.client.post(request.body, request.headers, this.abort.signal);
    if (result.error?.kind === "aborted" && this.stopping) {
      lane.release(entry, "again");
      return;
    }

    const now = this.clock.now();
    const attempt = delivery.attempts + 1;
    const location = result.status !== undefined && result.status >= 300 && result.status < 400 ? redirectTarget(result.headers.location, target.url) : undefined;
    const verdict = classify({
      ...(result.status !== undefined ? { status: result.status } : {}),
      ...(result.error ? { error: result.error } : {}),
      ...(location ? { location } : {}),
    });
    const log: DeliveryLogEntry = {
      at: new Date(now).toISOString(),
      target: target.name,
      eventId: delivery.eventId,
      eventType: event.envelope.type,
      recordKey: delivery.recordKey,
      attempt,
      outcome: "delivered",
      ...(result.status !== undefined ? { status: result.status } : {}),
      latencyMs: result.latencyMs,
    };

    if (verdict.outcome === "success") {
      this.noteReachable(lane);
      try {
        crashPoint("delivery:after-2xx-before-ack");
        await this.store.ackDelivery(delivery, log);
        crashPoint("delivery:after-ack");
      } catch (error) {
        this.stateFailure(lane, entry, "acknowledging a delivered event", error);
        return;
      }
      lane.release(entry, "done");
      this.counters.delivered += 1;
      this.report(log);
      this.logger.debug({ target: target.name, eventId: delivery.eventId, status: result.status, latencyMs: result.latencyMs }, "delivered");
      return;
    }

    if (verdict.outcome === "dead") {
      this.noteReachable(lane);
      await this.bury(lane, entry, { reason: verdict.reason, attempt, eventType: event.envelope.type, latencyMs: result.latencyMs, result });
      return;
    }

    this.noteFailure(lane, verdict.reason, probe, now);
    const plan = planRetry({
      attempts: attempt,
      now,
      detectedAt: Date.parse(event.envelope.detected_at),
      maxAgeMs: target.retry.max_age,
      retryAfterMs: parseRetryAfter(result.headers["retry-after"], now),
      random: this.random,
    });
    if (!plan.retry) {
      await this.bury(lane, entry, {
        reason: `${plan.reason}; last attempt: ${verdict.reason}`,
        attempt,
        eventType: event.envelope.type,
        latencyMs: result.latencyMs,
        result,
      });
      return;
    }
    // A receiver's answer may echo the request (credentials included): scrubbed before it is kept.
    const lastError = scrub(verdict.reason);
    const updated: Delivery = { ...delivery, attempts: attempt, nextAttemptAt: plan.nextAttemptAt, lastError };
    const retryLog: DeliveryLogEntry = { ...log, outcome: "retry", error: lastError };
    try {
      await this.store.updateDelivery(updated);
      crashPoint("delivery:after-retry-update");
      await this.store.appendLog(retryLog);
    } catch (error) {
      this.stateFailure(lane, entry, "recording a failed attempt", error);
      return;
    }
    entry.delivery = updated;
    lane.release(entry, "again");
    this.counters.retried += 1;
    this.report(retryLog);
    this.logger.info(
      { target: target.name, eventId: delivery.eventId, attempt, reason: verdict.reason, nextAttemptAt: new Date(plan.nextAttemptAt).toISOString() },
      "delivery failed, will retry",
    );
  }

  /** The target's format of the event, with this attempt's Standard Webhooks headers (real clock). */
  private signedRequest(lane: TargetLane, event: StoredEvent): { body: string; headers: Record<string, string> } {
    const rendered = renderBody(lane.target.format, event, lane.target);
    const timestamp = Math.floor(this.realNow() / 1000);
    return {
      body: rendered.body,
      headers: {
        "content-type": rendered.contentType,
        ...rendered.extraHeaders,
        ...standardWebhookHeaders(event.envelope.id, timestamp, rendered.body, lane.key),
      },
    };
  }

  /** Dead-letters the delivery, keeping the reason and the last response; the record's next delivery may go. */
  private async bury(
    lane: TargetLane,
    entry: Entry,
    input: { reason: string; attempt: number; eventType: string; latencyMs: number; result?: { status?: number; bodySnippet: string } },
  ): Promise<void> {
    const delivery = entry.delivery;
    const now = this.clock.now();
    const status = input.result?.status;
    // Kept in state: a receiver's echo of the request (credentials included) must not be.
    const reason = scrub(input.reason);
    const log: DeliveryLogEntry = {
      at: new Date(now).toISOString(),
      target: lane.name,
      eventId: delivery.eventId,
      eventType: input.eventType,
      recordKey: delivery.recordKey,
      attempt: input.attempt,
      outcome: "dead",
      ...(status !== undefined ? { status } : {}),
      latencyMs: input.latencyMs,
      error: reason,
    };
    try {
      crashPoint("delivery:before-dead-letter");
      await this.store.deadLetter(
        delivery,
        {
          target: lane.name,
          eventId: delivery.eventId,
          recordKey: delivery.recordKey,
          at: log.at,
          attempts: input.attempt,
          reason,
          ...(input.result ? { response: { ...(status !== undefined ? { status } : {}), body: scrub(input.result.bodySnippet) } } : {}),
        },
        log,
      );
    } catch (error) {
      this.stateFailure(lane, entry, "writing a dead letter", error);
      return;
    }
    lane.release(entry, "done");
    this.counters.dead += 1;
    this.report(log);
    this.logger.warn({ target: lane.name, eventId: delivery.eventId, attempts: input.attempt, reason: input.reason }, "delivery dead-lettered");
  }

  /** A state write failed: say so loudly; the delivery stays pending and is tried again later. */
  private stateFailure(lane: TargetLane, entry: Entry, doing: string, error: unknown): void {
    this.counters.stateErrors += 1;
    this.logger.error({ target: lane.name, eventId: entry.delivery.eventId, err: errorMessage(error) }, `state write failed while ${doing}`);
    entry.delivery = { ...entry.delivery, nextAttemptAt: this.clock.now() + STATE_ERROR_BACKOFF_MS };
    lane.release(entry, "again");
  }

  private report(log: DeliveryLogEntry): void {
    this.onAttempt?.({
      target: log.target,
      eventId: log.eventId,
      outcome: log.outcome,
      ...(log.status !== undefined ? { status: log.status } : {}),
      latencyMs: log.latencyMs,
    });
  }

  // ---- breaker ----

  private noteReachable(lane: TargetLane): void {
    if (lane.breaker.status === "open") {
      this.logger.info({ target: lane.name, pausedSince: new Date(lane.breaker.openedAt).toISOString() }, "target resumed");
    }
    lane.breaker = breakerSuccess(lane.breaker);
  }

  private noteFailure(lane: TargetLane, reason: string, probe: boolean, now: number): void {
    const before = lane.breaker;
    const after = breakerFailure(before, { now, reason, probe }, this.breakerOptions);
    lane.breaker = after;
    if (after.status !== "open") return;
    if (before.status === "closed") {
      this.logger.warn(
        { target: lane.name, reason, failures: after.consecutiveFailures, probeAt: new Date(after.probeAt).toISOString() },
        "target paused: deliveries keep failing; one probe at a time until it answers",
      );
    } else if (probe) {
      this.logger.warn({ target: lane.name, reason, probeAt: new Date(after.probeAt).toISOString() }, "target still paused: probe failed");
    } else {
      return;
    }
    this.sweepExpired(lane);
  }

  /**
   * While the breaker holds a target, due deliveries past `max_age` are dead-lettered without
   * an attempt, the breaker's reason kept. (An operator pause holds them instead: that is a
   * deliberate hold.) Runs once per opening and per failed probe.
   */
  private sweepExpired(lane: TargetLane): void {
    if (lane.sweeping || this.stopping) return;
    lane.sweeping = true;
    const work = async (): Promise<void> => {
      try {
        const now = this.clock.now();
        const queue = lane.dueHeads(now);
        const seen = new Set<number>();
        while (queue.length > 0 && !this.stopping && lane.breaker.status === "open") {
          const entry = queue.shift();
          if (!entry || seen.has(entry.delivery.seq) || !lane.isSchedulableHead(entry)) continue;
          seen.add(entry.delivery.seq);
          let eventType = "unknown";
          if (entry.deadline === undefined) {
            const event = await this.store.getEvent(entry.delivery.eventId);
            if (!event) continue;
            eventType = event.envelope.type;
            entry.deadline = Date.parse(event.envelope.detected_at) + lane.target.retry.max_age;
          }
          if (now < entry.deadline || !lane.isSchedulableHead(entry)) continue;
          if (eventType === "unknown") eventType = (await this.store.getEvent(entry.delivery.eventId))?.envelope.type ?? "unknown";
          if (!lane.isSchedulableHead(entry)) continue;
          lane.take(entry);
          const reason = `max_age ${formatDuration(lane.target.retry.max_age)} exceeded while the target was paused (${lane.breaker.status === "open" ? lane.breaker.reason : "failing"})`;
          await this.bury(lane, entry, { reason, attempt: entry.delivery.attempts, eventType, latencyMs: 0 });
          const next = lane.headOf(entry.delivery.recordKey);
          if (next && next.delivery.nextAttemptAt <= now) queue.push(next);
        }
      } finally {
        lane.sweeping = false;
      }
    };
    const task: Promise<void> = work()
      .catch((error: unknown) => this.logger.error({ target: lane.name, err: errorMessage(error) }, "max_age sweep failed"))
      .finally(() => {
        this.inFlight.delete(task);
        this.pumpAll();
      });
    this.inFlight.add(task);
  }
}

/** Where a redirect pointed, without query or credentials (for the reason text). */
function redirectTarget(location: string | undefined, base: string): string | undefined {
  if (!location) return undefined;
  try {
    const url = new URL(location, base);
    return `${url.origin}${url.pathname}`;
  } catch {
    return scrubUrl(location).slice(0, 200);
  }
}
