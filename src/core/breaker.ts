/**
 * The circuit breaker of one target, as pure state transitions. An `open` breaker pauses the
 * target: no attempts except one probe at a time once `probeAt` has come. A success (or any
 * definitive answer from the receiver) closes it. It never switches a target off for good —
 * unlike vendors that disable a webhook after N failures, the probes go on, further apart.
 */

export interface BreakerOptions {
  /** Consecutive failed attempts that open the breaker. Default 5. */
  failureThreshold: number;
  /** Every attempt failing for this long (at least two of them) also opens it. Default 10 min. */
  failureWindowMs: number;
  /** Delay before the first probe, then after each failed probe (the last repeats). Default 30 s, 1 min, 2 min, 5 min, 10 min. */
  probeDelaysMs: readonly number[];
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  failureThreshold: 5,
  failureWindowMs: 10 * 60_000,
  probeDelaysMs: [30_000, 60_000, 120_000, 300_000, 600_000],
};

export interface ClosedBreaker {
  status: "closed";
  consecutiveFailures: number;
  /** When the current run of failures began. */
  failingSince?: number;
}

export interface OpenBreaker {
  status: "open";
  consecutiveFailures: number;
  failingSince: number;
  openedAt: number;
  /** Why it opened (or why the last probe failed); never holds a secret. */
  reason: string;
  /** No probe before this instant (ms). */
  probeAt: number;
  /** Failed probes since it opened. */
  failedProbes: number;
}

export type BreakerState = ClosedBreaker | OpenBreaker;

export type BreakerGate = "pass" | "probe" | "wait";

export function closedBreaker(): ClosedBreaker {
  return { status: "closed", consecutiveFailures: 0 };
}

/** `pass`: attempt freely; `probe`: one attempt may go as the probe; `wait`: none until `probeAt`. */
export function breakerGate(state: BreakerState, now: number): BreakerGate {
  if (state.status === "closed") return "pass";
  return now >= state.probeAt ? "probe" : "wait";
}

/** The receiver answered (2xx, or a definitive 4xx): the target is reachable. */
export function breakerSuccess(_state: BreakerState): ClosedBreaker {
  return closedBreaker();
}

/** A retryable failure. `probe` tells whether it was the probe of an open breaker. */
export function breakerFailure(
  state: BreakerState,
  input: { now: number; reason: string; probe: boolean },
  options: BreakerOptions = DEFAULT_BREAKER_OPTIONS,
): BreakerState {
  const consecutiveFailures = state.consecutiveFailures + 1;
  const failingSince = state.failingSince ?? input.now;
  if (state.status === "open") {
    if (!input.probe) return { ...state, consecutiveFailures };
    const failedProbes = state.failedProbes + 1;
    return {
      ...state,
      consecutiveFailures,
      reason: input.reason,
      failedProbes,
      probeAt: input.now + probeDelay(options, failedProbes),
    };
  }
  const tooMany = consecutiveFailures >= options.failureThreshold;
  const tooLong = consecutiveFailures >= 2 && input.now - failingSince >= options.failureWindowMs;
  if (!tooMany && !tooLong) return { status: "closed", consecutiveFailures, failingSince };
  return {
    status: "open",
    consecutiveFailures,
    failingSince,
    openedAt: input.now,
    reason: input.reason,
    probeAt: input.now + probeDelay(options, 0),
    failedProbes: 0,
  };
}

function probeDelay(options: BreakerOptions, failedProbes: number): number {
  const delays = options.probeDelaysMs;
  return delays[Math.min(failedProbes, delays.length - 1)] ?? 30_000;
}
