import { describe, expect, it } from "vitest";
import { openFresh, type ContractBackend } from "./backend.js";

export function smallStateContract(backend: ContractBackend): void {
  describe("small state", () => {
    const id = { source: "s", resource: "invoices" };

    it("keeps a resource's cursor and state across reopen, apart from other resources", async () => {
      const { store, reopen } = await openFresh(backend);
      expect(await store.getResourceState(id)).toBeUndefined();
      const state = { cursor: { since: "2026-11-23T10:00:00Z", page: 3, ids: ["a", "b"] }, generation: "g1", initialized: true, lastPassAt: "2026-11-23T10:00:00.000Z", missing: { "\u001f7": { kind: null, id: "7" } }, held: { at: "x", records: [{ kind: "wz", id: "9" }] } };
      await store.putResourceState(id, state);
      await store.putResourceState({ source: "s", resource: "other" }, { generation: "g2", initialized: false });
      await store.putResourceState(id, { ...state, cursor: { since: "2026-11-24" } });
      await store.close();
      const again = await reopen();
      expect(await again.getResourceState(id)).toEqual({ ...state, cursor: { since: "2026-11-24" } });
      expect(await again.getResourceState({ source: "s", resource: "other" })).toEqual({ generation: "g2", initialized: false });
      expect(await again.getResourceState({ source: "t", resource: "invoices" })).toBeUndefined();
      await again.close();
    });

    it("keeps source suspensions, back-offs and facts, and target pauses", async () => {
      const { store, reopen } = await openFresh(backend);
      const suspended = { at: "2026-11-23T10:00:00.000Z", reason: "HTTP 403", configHash: "abc", until: "2026-11-23T11:00:00.000Z" };
      await store.putSourceState("s", { suspended, backoffUntil: "2026-11-23T10:05:00.000Z", backoffReason: "429", facts: { "audit-log": "unreadable since 2026-11-20" } });
      await store.putTargetState("hook", { paused: { at: "x", reason: "operator" } });
      await store.close();
      const again = await reopen();
      expect(await again.getSourceState("s")).toEqual({ suspended, backoffUntil: "2026-11-23T10:05:00.000Z", backoffReason: "429", facts: { "audit-log": "unreadable since 2026-11-20" } });
      expect(await again.getSourceState("nope")).toBeUndefined();
      await again.putSourceState("s", {});
      expect(await again.getSourceState("s")).toEqual({});
      expect(await again.getTargetState("hook")).toEqual({ paused: { at: "x", reason: "operator" } });
      await again.putTargetState("hook", {});
      expect(await again.getTargetState("hook")).toEqual({});
      expect(await again.getTargetState("other")).toBeUndefined();
      await again.close();
    });

    it("keeps budgets per source", async () => {
      const { store, reopen } = await openFresh(backend);
      expect(await store.getBudget("s")).toBeUndefined();
      await store.putBudget("s", { period: "2026-11", used: 41 });
      await store.putBudget("s", { period: "2026-11", used: 42 });
      await store.putBudget("t", { period: "2026-11-23T10", used: 1 });
      await store.close();
      const again = await reopen();
      expect(await again.getBudget("s")).toEqual({ period: "2026-11", used: 42 });
      expect(await again.getBudget("t")).toEqual({ period: "2026-11-23T10", used: 1 });
      await again.close();
    });

    it("keeps the overview's hourly series across reopen", async () => {
      const { store, reopen } = await openFresh(backend);
      expect(await store.getSeries()).toBeUndefined();
      const hour = { at: Date.UTC(2026, 10, 23, 10), events: { s: { "item.created": 3 } }, deliveries: { hook: { delivered: 2, retry: 1 } }, backlog: { hook: 4 }, latency: { hook: [0, 1, 2] } };
      await store.putSeries({ hours: [hour] });
      await store.putSeries({ hours: [hour, { ...hour, at: hour.at + 3_600_000 }] });
      await store.close();
      const again = await reopen();
      expect(await again.getSeries()).toEqual({ hours: [hour, { ...hour, at: hour.at + 3_600_000 }] });
      await again.close();
    });

    it("updates the series in one step: concurrent updates all count, each applied to what is stored then", async () => {
      const { store } = await openFresh(backend);
      const hourAt = Date.UTC(2026, 10, 23, 10);
      const bump = (current: Parameters<Parameters<typeof store.updateSeries>[0]>[0]) => {
        const state = current ?? { hours: [] };
        if (state.hours.length === 0) state.hours.push({ at: hourAt, events: {}, deliveries: {}, backlog: {}, latency: {} });
        const events = (state.hours[0]!.events.s ??= {});
        events["item.created"] = (events["item.created"] ?? 0) + 1;
        return state;
      };
      await Promise.all(Array.from({ length: 20 }, () => store.updateSeries(bump)));
      expect((await store.getSeries())!.hours[0]!.events).toEqual({ s: { "item.created": 20 } });
      await store.close();
    });

    it("keeps one random epoch per state across reopen", async () => {
      const { store, reopen } = await openFresh(backend);
      const epoch = store.epoch;
      expect(epoch).toMatch(/^[0-9a-f]{16}$/);
      await store.close();
      const again = await reopen();
      expect(again.epoch).toBe(epoch);
      await again.close();
      const other = await openFresh(backend);
      expect(other.store.epoch).not.toBe(epoch);
      await other.store.close();
    });
  });
}
