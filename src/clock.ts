import { readFileSync } from "node:fs";
import { setTimeout as sleepReal } from "node:timers/promises";

/**
 * Time as retrohook sees it. Production uses the wall clock. Tests may shift it with
 * `RETROHOOK_TEST_CLOCK_OFFSET_MS` (a fixed offset) or `RETROHOOK_TEST_CLOCK_FILE` (a file holding
 * the offset in ms, re-read on every call, so a test can move time for a running daemon).
 * Signatures always use real time (`realNow`): receivers reject stale timestamps.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realNow = (): number => Date.now();

function offsetFromEnv(): () => number {
  const file = process.env.RETROHOOK_TEST_CLOCK_FILE;
  const fixed = Number(process.env.RETROHOOK_TEST_CLOCK_OFFSET_MS ?? 0) || 0;
  if (!file) return () => fixed;
  return () => {
    try {
      return fixed + (Number(readFileSync(file, "utf8").trim()) || 0);
    } catch {
      return fixed;
    }
  };
}

export function systemClock(): Clock {
  const offset = offsetFromEnv();
  return {
    now: () => Date.now() + offset(),
    sleep: async (ms, signal) => {
      try {
        await sleepReal(Math.max(0, ms), undefined, { signal });
      } catch {
        // aborted: the caller checks its signal
      }
    },
  };
}

/** A clock tests move by hand. `sleep` resolves when `advance` passes its deadline. */
export class ManualClock implements Clock {
  private current: number;
  private waiters: Array<{ at: number; resolve: () => void }> = [];

  /** With `autoAdvance`, `sleep` moves the clock itself and resolves at once (tests that must not wait). */
  constructor(
    start = Date.parse("2026-11-23T10:00:00Z"),
    private readonly options: { autoAdvance?: boolean } = {},
  ) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.options.autoAdvance) {
      this.advance(Math.max(0, ms));
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const waiter = { at: this.current + ms, resolve };
      this.waiters.push(waiter);
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  advance(ms: number): void {
    this.current += ms;
    const due = this.waiters.filter((w) => w.at <= this.current);
    this.waiters = this.waiters.filter((w) => w.at > this.current);
    for (const waiter of due) waiter.resolve();
  }
}
