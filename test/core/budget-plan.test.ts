import { describe, expect, it } from "vitest";
import { decidePass, periodOf, permittedIntervalMs } from "../../src/core/budget-plan.js";

describe("budget periods", () => {
  it("are calendar periods in the source's time zone", () => {
    // 2026-11-30T23:30Z is already December 1st in Prague (UTC+1).
    const month = periodOf(Date.parse("2026-11-30T23:30:00Z"), "month", "Europe/Prague");
    expect(month.key).toBe("2026-12");
    expect(new Date(month.start).toISOString()).toBe("2026-11-30T23:00:00.000Z");
    expect(new Date(month.end).toISOString()).toBe("2026-12-31T23:00:00.000Z");
    expect(periodOf(Date.parse("2026-11-23T10:15:00Z"), "hour", "UTC").key).toBe("2026-11-23T10");
    expect(periodOf(Date.parse("2026-11-23T23:15:00Z"), "day", "Europe/Warsaw").key).toBe("2026-11-24");
  });

  it("permit an interval from requests and the cost of a pass", () => {
    // 1,500 a month, a third kept for reconciles, 5 resources → 200 passes → one every 3.6 h.
    expect(permittedIntervalMs(1500, "month", 5, 60_000)).toBe(3.6 * 3_600_000);
    expect(permittedIntervalMs(100_000, "hour", 1, 60_000)).toBe(60_000); // never faster than schedule
  });
});

describe("pass decisions", () => {
  const period = periodOf(Date.parse("2026-11-01T00:00:00Z"), "month", "UTC");
  const base = { period, requests: 1500, incrementalCost: 5, reconcileCost: 50 };

  it("spread the requests left over the time left", () => {
    const now = Date.parse("2026-11-16T00:00:00Z"); // 15 days left; 250 of the 500 for reconciles used
    const first = decidePass({ ...base, now, used: 750, reconcileUsed: 250, mode: "incremental", lastPassAt: now - 60_000 });
    expect(first.run).toBe(false);
    const interval = (15 * 86_400_000) / ((750 - 250) / 5);
    expect(decidePass({ ...base, now, used: 750, reconcileUsed: 250, mode: "incremental", lastPassAt: now - interval + 60_000 }).run).toBe(false);
    expect(decidePass({ ...base, now, used: 750, reconcileUsed: 250, mode: "incremental", lastPassAt: now - interval - 1 }).run).toBe(true);
  });

  it("stop when the budget is spent, until the next period", () => {
    const decision = decidePass({ ...base, now: Date.parse("2026-11-20T00:00:00Z"), used: 1498, reconcileUsed: 0, mode: "incremental" });
    expect(decision).toMatchObject({ run: false, nextAt: Date.parse("2026-12-01T00:00:00Z") });
  });

  it("put incremental passes before reconcile", () => {
    const now = Date.parse("2026-11-04T00:00:00Z"); // a tenth of the month: 50 of the 500 are due
    expect(decidePass({ ...base, now, used: 100, reconcileUsed: 0, mode: "reconcile" }).run).toBe(true);
    expect(decidePass({ ...base, now, used: 200, reconcileUsed: 100, mode: "reconcile" }).run).toBe(false);
    expect(decidePass({ ...base, now: Date.parse("2026-11-28T00:00:00Z"), used: 1460, reconcileUsed: 400, mode: "reconcile" }).run).toBe(false);
  });
});
