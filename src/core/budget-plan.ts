import { zoneOffsetMs } from "./time.js";

/**
 * Request budgets (`budget: {requests, per: hour|day|month}`), pure arithmetic. Periods are
 * calendar periods in the source's time zone. Every request counts (token requests too).
 *
 * Policy: `schedule` is the highest rate. Incremental passes come first: they get two thirds of
 * the period's requests plus whatever reconciles leave unused, spread evenly over the time left
 * (the wait between passes is `timeLeft / (left / costPerPass)`). Reconciles get at most one
 * third, paced over the period: by any moment they may have used at most their share of the
 * elapsed part (plus one pass). When the budget is spent, nothing runs until the next period.
 */
export const RECONCILE_SHARE = 1 / 3;
export type BudgetPer = "hour" | "day" | "month";

export interface Period {
  key: string;
  start: number;
  end: number;
}

export function periodOf(now: number, per: BudgetPer, timeZone: string): Period {
  const offset = zoneOffsetMs(now, timeZone);
  const wall = new Date(now + offset);
  const y = wall.getUTCFullYear();
  const m = wall.getUTCMonth();
  const d = wall.getUTCDate();
  const h = wall.getUTCHours();
  const [startWall, endWall, key] =
    per === "hour" ? [Date.UTC(y, m, d, h), Date.UTC(y, m, d, h + 1), `${iso(y, m, d)}T${pad(h)}`]
    : per === "day" ? [Date.UTC(y, m, d), Date.UTC(y, m, d + 1), iso(y, m, d)]
    : [Date.UTC(y, m, 1), Date.UTC(y, m + 1, 1), `${y}-${pad(m + 1)}`];
  return { key, start: startWall - zoneOffsetMs(startWall, timeZone), end: endWall - zoneOffsetMs(endWall, timeZone) };
}

/** The average interval between incremental passes that `requests` per period permit. */
export function permittedIntervalMs(requests: number, per: BudgetPer, costPerPass: number, scheduleMs: number): number {
  const periodMs = per === "hour" ? 3_600_000 : per === "day" ? 86_400_000 : 30 * 86_400_000;
  const passes = Math.floor((requests - Math.floor(requests * RECONCILE_SHARE)) / Math.max(1, costPerPass));
  if (passes <= 0) return Number.POSITIVE_INFINITY;
  return Math.max(scheduleMs, Math.ceil(periodMs / passes));
}

export interface PassDecisionInput {
  now: number;
  period: Period;
  requests: number;
  used: number;
  /** Requests spent by reconcile passes this period. */
  reconcileUsed: number;
  mode: "incremental" | "reconcile";
  /** Requests an incremental pass costs (measured; at least 1). */
  incrementalCost: number;
  /** Requests a reconcile pass costs (measured; a guess before the first). */
  reconcileCost: number;
  /** When the last pass of this source started (ms), if any. */
  lastPassAt?: number;
}

export type PassDecision = { run: true } | { run: false; reason: string; nextAt?: number };

export function decidePass(input: PassDecisionInput): PassDecision {
  const left = input.requests - input.used;
  const timeLeft = Math.max(1, input.period.end - input.now);
  const cost = input.mode === "reconcile" ? input.reconcileCost : input.incrementalCost;
  if (left < cost) {
    return { run: false, reason: `request budget spent (${input.used} of ${input.requests} this period); next period starts ${new Date(input.period.end).toISOString()}`, nextAt: input.period.end };
  }
  const incremental = Math.max(1, input.incrementalCost);
  const share = Math.floor(input.requests * RECONCILE_SHARE);
  const elapsed = (input.now - input.period.start) / (input.period.end - input.period.start);
  if (input.mode === "reconcile") {
    if (input.reconcileUsed + cost > share * elapsed + cost || input.reconcileUsed + cost > share) {
      return { run: false, reason: `reconcile deferred: reconciles may use ${share} of ${input.requests} requests this period, paced (used ${input.reconcileUsed}, next costs ~${cost})` };
    }
    return { run: true };
  }
  const reserved = Math.max(0, share - input.reconcileUsed);
  const forIncremental = Math.max(incremental, left - reserved);
  const interval = timeLeft / (forIncremental / incremental);
  if (input.lastPassAt !== undefined && input.now - input.lastPassAt < interval) {
    return { run: false, reason: `budget paces passes to one every ${Math.round(interval / 1000)} s`, nextAt: input.lastPassAt + interval };
  }
  return { run: true };
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function iso(y: number, m: number, d: number): string {
  return `${y}-${pad(m + 1)}-${pad(d)}`;
}
