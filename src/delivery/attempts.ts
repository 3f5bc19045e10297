import type { Clock } from "../clock.js";
import { breakerFailure, breakerSuccess, type BreakerOptions } from "../core/breaker.js";
import { boundRetryAfter, DEFAULT_MAX_RETRY_AFTER_MS, formatDuration, planRetry } from "../core/retry-policy.js";
import { applyTargetExpressions, hasExpressions } from "../core/routing.js";
import { errorMessage } from "../errors.js";
import type { Delivery, DeliveryLogEntry, StateStore, StoredEvent } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import { scrub } from "../telemetry/logger.js";
import { crashPoint } from "../testing/fault-injection.js";
import { signedMessage } from "../transports/message.js";
import type { OutgoingMessage, SendResult } from "../transports/index.js";
import type { Entry, TargetLane } from "./lane.js";
import { READ_AHEAD } from "./read-ahead.js";

/**
 * What one attempt leads to: send through the target's transport, then ack, schedule a retry or
 * dead-letter, with a delivery log entry for each; the breaker hears of every answer. Nothing
 * here knows the wire: the transport's `{outcome, reason, retryAfterMs}` is all it reads.
 */

export interface AttemptReport {
  target: string;
  eventId: string;
  outcome: DeliveryLogEntry["outcome"];
  status?: number;
  latencyMs: number;
}

export interface Counters {
  delivered: number;
  retried: number;
  dead: number;
  stateErrors: number;
}

/** In-memory back-off after a failed state write, before the delivery is tried again. */
const STATE_ERROR_BACKOFF_MS = 5_000;

export interface AttemptContext {
  store: StateStore;
  clock: Clock;
  logger: Logger;
  random: () => number;
  /** Wall clock for `webhook-timestamp`. */
  realNow: () => number;
  breakerOptions: BreakerOptions;
  onAttempt?: (attempt: AttemptReport) => void;
  /** Aborted when delivery stops for good. */
  signal: AbortSignal;
  isStopping(): boolean;
  /** Keeps a background task (the max_age sweep) counted as in flight. */
  track(task: Promise<void>): void;
}

export class Attempts {
  readonly counters: Counters = { delivered: 0, retried: 0, dead: 0, stateErrors: 0 };

  constructor(private readonly ctx: AttemptContext) {}

  /** The signed message of `event` for a lane's target, timestamped now. */
  message(lane: TargetLane, event: StoredEvent): OutgoingMessage {
    return signedMessage(lane.target, lane.key, event, this.ctx.realNow());
  }

  /**
   * One attempt of a lane's head entry, taken by the scheduler; releases it however it ends.
   * `sent` is called once the transport reported the delivery delivered, before its ack is
   * recorded: the scheduler may then start another send while the ack is being committed (the
   * record stays taken until the ack is stored, so its next delivery still waits for it).
   */
  async run(lane: TargetLane, entry: Entry, probe: boolean, sent?: () => void): Promise<void> {
    const { store, clock } = this.ctx;
    const target = lane.target;
    const delivery = entry.delivery;
    let event: StoredEvent | undefined;
    try {
      event = await lane.reads.event(delivery.eventId, () => lane.upcoming(READ_AHEAD - 1, clock.now()));
    } catch (error) {
      this.stateFailure(lane, entry, "reading the event", error);
      return;
    }
    if (!event) {
      await this.deadLetter(lane, entry, { reason: "event missing from state", attempt: delivery.attempts, eventType: "unknown", latencyMs: 0 });
      return;
    }
    if (event.fixed === undefined && hasExpressions(target)) {
      event = await this.routeNow(lane, entry, event);
      if (!event) return;
    }
    entry.deadline = Date.parse(event.envelope.detected_at) + target.retry.max_age;
    const message = this.message(lane, event);
    crashPoint("delivery:before-post");
    const result = await lane.transport.send(message, this.ctx.signal);
    if (result.aborted && this.ctx.isStopping()) {
      lane.release(entry, "again");
      return;
    }

    const now = clock.now();
    const attempt = delivery.attempts + 1;
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

    if (result.outcome === "delivered") {
      this.noteReachable(lane);
      sent?.();
      try {
        crashPoint("delivery:after-2xx-before-ack");
        await store.ackDelivery(delivery, log);
        crashPoint("delivery:after-ack");
      } catch (error) {
        this.stateFailure(lane, entry, "acknowledging a delivered event", error);
        return;
      }
      this.settled(lane, entry, log, "delivered");
      if (this.ctx.logger.isLevelEnabled("debug")) this.ctx.logger.debug({ target: target.name, eventId: delivery.eventId, status: result.status, latencyMs: result.latencyMs }, "delivered");
      return;
    }

    if (result.outcome === "dead") {
      this.noteReachable(lane);
      await this.deadLetter(lane, entry, { reason: result.reason, attempt, eventType: event.envelope.type, latencyMs: result.latencyMs, result });
      return;
    }

    this.noteFailure(lane, result.reason, probe, now);
    const retryAfterMs = this.boundedRetryAfter(target, result.retryAfterMs);
    const plan = planRetry({
      attempts: attempt,
      now,
      detectedAt: Date.parse(event.envelope.detected_at),
      maxAgeMs: target.retry.max_age,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      random: this.ctx.random,
    });
    if (!plan.retry) {
      await this.deadLetter(lane, entry, {
        reason: `${plan.reason}; last attempt: ${result.reason}`,
        attempt,
        eventType: event.envelope.type,
        latencyMs: result.latencyMs,
        result,
      });
      return;
    }
    // A receiver's answer may echo the request (credentials included): scrubbed before it is kept.
    const lastError = scrub(result.reason);
    const updated: Delivery = { ...delivery, attempts: attempt, nextAttemptAt: plan.nextAttemptAt, lastError };
    const retryLog: DeliveryLogEntry = { ...log, outcome: "retry", error: lastError };
    try {
      await store.updateDelivery(updated);
      crashPoint("delivery:after-retry-update");
      await store.appendLog(retryLog);
    } catch (error) {
      this.stateFailure(lane, entry, "recording a failed attempt", error);
      return;
    }
    entry.delivery = updated;
    lane.release(entry, "again");
    this.counters.retried += 1;
    this.report(retryLog);
    this.ctx.logger.info(
      { target: target.name, eventId: delivery.eventId, attempt, reason: result.reason, nextAttemptAt: new Date(plan.nextAttemptAt).toISOString() },
      "delivery failed, will retry",
    );
  }

  /**
   * A delivery with no body fixed for its target, which now has a filter or transform (a
   * replayed dead letter whose expression failed, a replay to a target that filtered the event
   * out, a delivery queued before the expression was added): routed through them now, and the
   * body kept so later attempts send the same bytes. Undefined when the delivery is settled here.
   */
  private async routeNow(lane: TargetLane, entry: Entry, event: StoredEvent): Promise<StoredEvent | undefined> {
    const { store, clock } = this.ctx;
    const delivery = entry.delivery;
    const verdict = await applyTargetExpressions(lane.target, event.envelope);
    if (verdict.outcome === "failed") {
      await this.deadLetter(lane, entry, { reason: verdict.reason, attempt: delivery.attempts, eventType: event.envelope.type, latencyMs: 0 });
      return undefined;
    }
    try {
      if (verdict.outcome === "filtered") {
        const log: DeliveryLogEntry = {
          at: new Date(clock.now()).toISOString(),
          target: lane.name,
          eventId: delivery.eventId,
          eventType: event.envelope.type,
          recordKey: delivery.recordKey,
          attempt: delivery.attempts,
          outcome: "filtered",
          latencyMs: 0,
        };
        await store.ackDelivery(delivery, log);
        this.settled(lane, entry, log);
        return undefined;
      }
      const fixed = verdict.body ?? "";
      await store.putFixedBody(delivery.eventId, lane.name, fixed);
      return { ...event, fixed };
    } catch (error) {
      this.stateFailure(lane, entry, "recording what the target's expressions decided", error);
      return undefined;
    }
  }

  /** Moves the delivery to the dead letters, keeping the reason and the last answer; the record's next delivery may go. */
  async deadLetter(
    lane: TargetLane,
    entry: Entry,
    input: { reason: string; attempt: number; eventType: string; latencyMs: number; result?: Pick<SendResult, "status" | "response"> },
  ): Promise<void> {
    const delivery = entry.delivery;
    const now = this.ctx.clock.now();
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
      await this.ctx.store.deadLetter(
        delivery,
        {
          target: lane.name,
          eventId: delivery.eventId,
          recordKey: delivery.recordKey,
          at: log.at,
          attempts: input.attempt,
          reason,
          ...(input.result ? { response: { ...(status !== undefined ? { status } : {}), body: scrub(input.result.response ?? "") } } : {}),
        },
        log,
      );
    } catch (error) {
      this.stateFailure(lane, entry, "writing a dead letter", error);
      return;
    }
    this.settled(lane, entry, log, "dead");
    this.ctx.logger.warn({ target: lane.name, eventId: delivery.eventId, attempts: input.attempt, reason: input.reason }, "delivery dead-lettered");
  }

  /** A state write failed: say so loudly; the delivery stays pending and is tried again later. */
  stateFailure(lane: TargetLane, entry: Entry, doing: string, error: unknown): void {
    this.counters.stateErrors += 1;
    this.ctx.logger.error({ target: lane.name, eventId: entry.delivery.eventId, err: errorMessage(error) }, `state write failed while ${doing}`);
    entry.delivery = { ...entry.delivery, nextAttemptAt: this.ctx.clock.now() + STATE_ERROR_BACKOFF_MS };
    lane.release(entry, "again");
  }

  /** A receiver's Retry-After, bounded by the target's `retry.max_retry_after` (logged when cut). */
  private boundedRetryAfter(target: TargetLane["target"], asked: number | undefined): number | undefined {
    const max = target.retry.max_retry_after ?? DEFAULT_MAX_RETRY_AFTER_MS;
    const bounded = boundRetryAfter(asked, max);
    if (bounded.clamped) this.ctx.logger.warn({ target: target.name, askedMs: asked }, `receiver's Retry-After of ${formatDuration(Math.round(asked! / 1000) * 1000)} bounded to max_retry_after ${formatDuration(max)}`);
    return bounded.waitMs;
  }

  /** A delivery is done (delivered, filtered out or dead-lettered, and stored so): free its lane, count it, report it. */
  private settled(lane: TargetLane, entry: Entry, log: DeliveryLogEntry, counter?: "delivered" | "dead"): void {
    lane.release(entry, "done");
    if (counter) this.counters[counter] += 1;
    this.report(log);
  }

  private report(log: DeliveryLogEntry): void {
    this.ctx.onAttempt?.({
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
      this.ctx.logger.info({ target: lane.name, pausedSince: new Date(lane.breaker.openedAt).toISOString() }, "target resumed");
    }
    lane.breaker = breakerSuccess(lane.breaker);
  }

  private noteFailure(lane: TargetLane, reason: string, probe: boolean, now: number): void {
    const before = lane.breaker;
    const after = breakerFailure(before, { now, reason, probe }, this.ctx.breakerOptions);
    lane.breaker = after;
    if (after.status !== "open") return;
    if (before.status === "closed") {
      this.ctx.logger.warn(
        { target: lane.name, reason, failures: after.consecutiveFailures, probeAt: new Date(after.probeAt).toISOString() },
        "target paused: deliveries keep failing; one probe at a time until it answers",
      );
    } else if (probe) {
      this.ctx.logger.warn({ target: lane.name, reason, probeAt: new Date(after.probeAt).toISOString() }, "target still paused: probe failed");
    } else {
      return;
    }
    this.expireWhileHeld(lane);
  }

  /**
   * While the breaker holds a target, due deliveries past `max_age` are dead-lettered without
   * an attempt, the breaker's reason kept. (An operator pause holds them instead: that is a
   * deliberate hold.) Runs once per opening and per failed probe.
   */
  private expireWhileHeld(lane: TargetLane): void {
    if (lane.sweeping || this.ctx.isStopping()) return;
    lane.sweeping = true;
    const { store } = this.ctx;
    const work = async (): Promise<void> => {
      try {
        const now = this.ctx.clock.now();
        const queue = lane.dueHeads(now);
        const seen = new Set<number>();
        while (queue.length > 0 && !this.ctx.isStopping() && lane.breaker.status === "open") {
          const entry = queue.shift();
          if (!entry || seen.has(entry.delivery.seq) || !lane.isSchedulableHead(entry)) continue;
          seen.add(entry.delivery.seq);
          let eventType = "unknown";
          if (entry.deadline === undefined) {
            const event = await store.getEvent(entry.delivery.eventId);
            if (!event) continue;
            eventType = event.envelope.type;
            entry.deadline = Date.parse(event.envelope.detected_at) + lane.target.retry.max_age;
          }
          if (now < entry.deadline || !lane.isSchedulableHead(entry)) continue;
          if (eventType === "unknown") eventType = (await store.getEvent(entry.delivery.eventId))?.envelope.type ?? "unknown";
          if (!lane.isSchedulableHead(entry)) continue;
          lane.take(entry);
          const reason = `max_age ${formatDuration(lane.target.retry.max_age)} exceeded while the target was paused (${lane.breaker.status === "open" ? lane.breaker.reason : "failing"})`;
          await this.deadLetter(lane, entry, { reason, attempt: entry.delivery.attempts, eventType, latencyMs: 0 });
          const next = lane.headOf(entry.delivery.recordKey);
          if (next && next.delivery.nextAttemptAt <= now) queue.push(next);
        }
      } finally {
        lane.sweeping = false;
      }
    };
    this.ctx.track(work().catch((error: unknown) => this.ctx.logger.error({ target: lane.name, err: errorMessage(error) }, "max_age sweep failed")));
  }
}
