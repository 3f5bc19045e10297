import { describe, expect, it } from "vitest";
import {
  nextAttemptAt,
  parseRetryAfter,
  planRetry,
  retryDelayMs,
  RETRY_SCHEDULE_MS,
} from "../../src/core/retry-policy.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const mid = () => 0.5;

describe("retry schedule", () => {
  it("is 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then 10 h", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 12].map((n) => retryDelayMs(n, mid));
    expect(delays).toEqual([5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H, 10 * H]);
  });

  it("jitters by at most ±20 %", () => {
    RETRY_SCHEDULE_MS.forEach((base, index) => {
      expect(retryDelayMs(index + 1, () => 0)).toBe(Math.round(base * 0.8));
      expect(retryDelayMs(index + 1, () => 0.999999)).toBeLessThanOrEqual(base * 1.2);
      expect(retryDelayMs(index + 1, () => 0.999999)).toBeGreaterThan(base * 1.19);
    });
    for (let i = 0; i < 1000; i += 1) {
      const delay = retryDelayMs(3);
      expect(delay).toBeGreaterThanOrEqual(24 * M);
      expect(delay).toBeLessThanOrEqual(36 * M);
    }
  });

  it("never schedules before Retry-After", () => {
    const now = 1_000_000;
    expect(nextAttemptAt(1, now, 120 * S, mid)).toBe(now + 120 * S);
    expect(nextAttemptAt(4, now, 120 * S, mid)).toBe(now + 2 * H);
    expect(nextAttemptAt(1, now, undefined, mid)).toBe(now + 5 * S);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-23T10:00:00Z");
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120 * S);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
  });
  it("reads an HTTP date", () => {
    expect(parseRetryAfter("Mon, 23 Nov 2026 10:02:00 GMT", now)).toBe(2 * M);
    expect(parseRetryAfter("Mon, 23 Nov 2026 09:00:00 GMT", now)).toBe(0);
  });
  it("ignores absent or unreadable values", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter("1.5", now)).toBeUndefined();
  });
});

describe("planRetry", () => {
  const detectedAt = Date.parse("2026-11-23T10:00:00Z");
  const maxAgeMs = 72 * H;

  it("schedules by the policy within max_age", () => {
    const plan = planRetry({ attempts: 1, now: detectedAt, detectedAt, maxAgeMs, random: mid });
    expect(plan).toEqual({ retry: true, nextAttemptAt: detectedAt + 5 * S });
  });

  it("pulls the last try in to the deadline", () => {
    const now = detectedAt + 70 * H;
    const plan = planRetry({ attempts: 9, now, detectedAt, maxAgeMs, random: mid });
    expect(plan).toEqual({ retry: true, nextAttemptAt: detectedAt + maxAgeMs });
  });

  it("gives up at or past the deadline, keeping the reason", () => {
    const plan = planRetry({ attempts: 10, now: detectedAt + maxAgeMs, detectedAt, maxAgeMs, random: mid });
    expect(plan).toEqual({ retry: false, reason: "max_age 72h exceeded" });
  });

  it("gives up when Retry-After points past the deadline", () => {
    const plan = planRetry({ attempts: 2, now: detectedAt + 71 * H, detectedAt, maxAgeMs, retryAfterMs: 2 * H, random: mid });
    expect(plan.retry).toBe(false);
  });
});
