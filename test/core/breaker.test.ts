import { describe, expect, it } from "vitest";
import { breakerFailure, breakerGate, breakerSuccess, closedBreaker, DEFAULT_BREAKER_OPTIONS, type BreakerState } from "../../src/core/breaker.js";

const fail = (state: BreakerState, now: number, probe = false): BreakerState => breakerFailure(state, { now, reason: "HTTP 503", probe });

describe("circuit breaker", () => {
  it("opens after 5 consecutive failures, with reason and probe time", () => {
    let state: BreakerState = closedBreaker();
    for (let i = 0; i < 4; i += 1) state = fail(state, 1000 + i);
    expect(state.status).toBe("closed");
    state = fail(state, 2000);
    expect(state).toMatchObject({ status: "open", reason: "HTTP 503", openedAt: 2000, probeAt: 32_000 });
  });

  it("opens when every attempt failed for the window", () => {
    let state: BreakerState = fail(closedBreaker(), 0);
    state = fail(state, DEFAULT_BREAKER_OPTIONS.failureWindowMs);
    expect(state.status).toBe("open");
  });

  it("a success in between resets the count", () => {
    let state: BreakerState = closedBreaker();
    for (let i = 0; i < 4; i += 1) state = fail(state, i);
    state = breakerSuccess(state);
    state = fail(state, 10);
    expect(state).toMatchObject({ status: "closed", consecutiveFailures: 1 });
  });

  it("lets one probe through when due, backs off after failed probes, never gives up", () => {
    let state: BreakerState = closedBreaker();
    for (let i = 0; i < 5; i += 1) state = fail(state, 0);
    expect(breakerGate(state, 29_999)).toBe("wait");
    expect(breakerGate(state, 30_000)).toBe("probe");
    const probeTimes: number[] = [];
    let now = 30_000;
    for (let i = 0; i < 8; i += 1) {
      state = fail(state, now, true);
      if (state.status !== "open") throw new Error("closed");
      probeTimes.push(state.probeAt - now);
      now = state.probeAt;
    }
    expect(probeTimes).toEqual([60_000, 120_000, 300_000, 600_000, 600_000, 600_000, 600_000, 600_000]);
    // a failure of an attempt that was in flight when it opened does not push the probe back
    const before = state.status === "open" ? state.probeAt : 0;
    state = fail(state, now + 1, false);
    expect(state.status === "open" && state.probeAt).toBe(before);
    expect(breakerSuccess(state)).toEqual(closedBreaker());
    expect(breakerGate(breakerSuccess(state), 0)).toBe("pass");
  });
});
