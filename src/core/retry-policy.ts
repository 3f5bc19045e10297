/**
 * When to try a failed delivery again, and whether to. Pure: the caller passes the clock's `now`
 * and a random source. Whether an attempt failed for good or may be retried is the transport's
 * verdict (HTTP's is `transports/http/classify.ts`).
 *
 * Policy:
 * - Delays after the 1st, 2nd, … failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then 10 h
 *   each time, each with ±20 % jitter so a recovering receiver is not hit by every retry at once.
 * - A `Retry-After` (seconds or HTTP date) is a floor: never an attempt before it.
 * - A delivery is given up (dead letter, reason kept) after a failed attempt when the next
 *   attempt would fall after `detected_at + max_age`. The last try is pulled in to the deadline
 *   itself when the schedule would overshoot it, unless `Retry-After` forbids that.
 */

export const RETRY_SCHEDULE_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
];

export const RETRY_JITTER = 0.2;

/** The delay after the `attempts`-th failed attempt (1-based), jittered by `random()` in [0, 1). */
export function retryDelayMs(attempts: number, random: () => number = Math.random): number {
  const index = Math.min(Math.max(attempts, 1), RETRY_SCHEDULE_MS.length) - 1;
  const base = RETRY_SCHEDULE_MS[index] ?? RETRY_SCHEDULE_MS[RETRY_SCHEDULE_MS.length - 1] ?? 0;
  const factor = 1 + (random() * 2 - 1) * RETRY_JITTER;
  return Math.round(base * factor);
}

/**
 * The earliest time of the next attempt after `attempts` failed attempts (counting the one that
 * just failed), never before `now + retryAfterMs`.
 */
export function nextAttemptAt(attempts: number, now: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const scheduled = now + retryDelayMs(attempts, random);
  return retryAfterMs === undefined ? scheduled : Math.max(scheduled, now + retryAfterMs);
}

/**
 * `Retry-After` as a delay in ms from `now`: delta-seconds or an HTTP date; undefined when absent
 * or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Default of `max_retry_after` (sources) and `retry.max_retry_after` (targets): 24 h. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * A `Retry-After` (or any "wait until" a vendor or receiver asks for) bounded by `maxMs`: one
 * answer of `Retry-After: 2147483647` must not stop a source or a delivery for 68 years.
 * `clamped` tells the caller to say so in the log.
 */
export function boundRetryAfter(waitMs: number | undefined, maxMs: number = DEFAULT_MAX_RETRY_AFTER_MS): { waitMs: number | undefined; clamped: boolean } {
  if (waitMs === undefined || waitMs <= maxMs) return { waitMs, clamped: false };
  return { waitMs: maxMs, clamped: true };
}

export type RetryDecision = { retry: true; nextAttemptAt: number } | { retry: false; reason: string };

/**
 * After a retryable failure: when to try again, or give up because `max_age` (from
 * `detected_at`) would be passed. `attempts` counts the attempt that just failed.
 */
export function planRetry(input: {
  attempts: number;
  now: number;
  detectedAt: number;
  maxAgeMs: number;
  retryAfterMs?: number;
  random?: () => number;
}): RetryDecision {
  const deadline = input.detectedAt + input.maxAgeMs;
  const floor = input.now + (input.retryAfterMs ?? 0);
  if (input.now >= deadline || floor > deadline) {
    return { retry: false, reason: `max_age ${formatDuration(input.maxAgeMs)} exceeded` };
  }
  const next = Math.max(floor, Math.min(nextAttemptAt(input.attempts, input.now, undefined, input.random), deadline));
  return { retry: true, nextAttemptAt: next };
}

/** `72h`, `90m`, `30s`, `1500ms` — for reasons and logs. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
