import type { SourceConfig } from "../config/types.js";
import { DEFAULT_MAX_RETRY_AFTER_MS, formatDuration } from "../core/retry-policy.js";
import type { SourceState, StateStore } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";

/**
 * A source's persisted back-off ("the vendor asked to wait"): how long it may last, and how an
 * operator lifts it. The bound is the source's `max_retry_after` (default 24 h), applied when a
 * back-off is recorded and again when one is read, so a back-off stored before the bound
 * existed (or under a larger one) cannot keep a source quiet for years.
 */

export function maxRetryAfterMs(config: SourceConfig): number {
  return config.max_retry_after ?? DEFAULT_MAX_RETRY_AFTER_MS;
}

/** The end of a back-off asked for at `now`, bounded; logs when the vendor asked for longer. */
export function boundedBackoffUntil(config: SourceConfig, untilMs: number, now: number, log: Logger): number {
  const max = maxRetryAfterMs(config);
  if (untilMs - now <= max) return untilMs;
  log.warn(
    { asked: new Date(untilMs).toISOString(), until: new Date(now + max).toISOString() },
    `vendor's Retry-After of ${formatDuration(Math.round((untilMs - now) / 1000) * 1000)} bounded to max_retry_after ${formatDuration(max)}`,
  );
  return now + max;
}

/**
 * A stored back-off that ends later than `now + max_retry_after` is cut to that (and written
 * back, so it does not slide). Returns the state as it should be read.
 */
export async function boundStoredBackoff(store: StateStore, config: SourceConfig, state: SourceState, now: number, log: Logger): Promise<SourceState> {
  if (!state.backoffUntil) return state;
  const until = Date.parse(state.backoffUntil);
  const max = maxRetryAfterMs(config);
  if (!(until - now > max) && !Number.isNaN(until)) return state;
  const bounded = Number.isNaN(until) ? now : now + max;
  log.warn({ stored: state.backoffUntil, until: new Date(bounded).toISOString() }, `stored back-off bounded to max_retry_after ${formatDuration(max)}`);
  const next = { ...state, backoffUntil: new Date(bounded).toISOString() };
  await store.putSourceState(config.name, next);
  return next;
}

/**
 * Lifts a source's back-off (what `retrohook resume` does besides suspensions): the next pass
 * asks the vendor again. Returns whether there was one.
 */
export async function liftBackoff(store: StateStore, source: string): Promise<boolean> {
  const state = await store.getSourceState(source);
  if (!state?.backoffUntil && !state?.backoffReason) return false;
  const { backoffUntil: _until, backoffReason: _reason, ...rest } = state;
  await store.putSourceState(source, rest);
  return true;
}
