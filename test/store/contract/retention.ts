import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { DeliveryLogEntry, EnqueueItem, PassEntry, PrunableKind, StateStore } from "../../../src/store/store.js";
import { fixedClock, openFresh, type ContractBackend } from "./backend.js";

const T0 = Date.UTC(2026, 10, 23, 10);
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

function eventAt(id: string, recordKey: string, minutes: number, targets: string[], fixed?: Record<string, string>): EnqueueItem {
  const envelope = { id, type: "invoice.updated", source: "s", resource: "invoices", kind: null, record_id: recordKey, detected_at: at(minutes), data: { object: { n: id } } };
  return { event: { envelope, body: JSON.stringify(envelope) }, recordKey, targets, ...(fixed ? { fixed } : {}) };
}

const logAt = (target: string, eventId: string, minutes: number): DeliveryLogEntry => ({ at: at(minutes), target, eventId, eventType: "invoice.updated", recordKey: "s/invoices/\u001f1", attempt: 1, outcome: "delivered", status: 200, latencyMs: 2 });

const passAt = (minutes: number): PassEntry => ({ at: at(minutes), mode: "incremental", listing: "incremental", firstRun: false, ok: true, records: 1, events: 0, baselined: 0, deleted: 0, listed: [], listedAll: true });

/** Steps of at most `limit` (and `budgetMs`) until the sweep says done; returns the removed count and the steps taken. */
async function sweep(store: StateStore, kind: PrunableKind, before: number, limit: number, budgetMs?: number): Promise<{ removed: number; steps: number }> {
  let removed = 0;
  for (let steps = 1; steps < 10_000; steps++) {
    const result = await store.pruneStep(kind, before, limit, budgetMs);
    removed += result.removed;
    if (result.done) return { removed, steps };
  }
  throw new Error("the sweep never finished");
}

export function retentionContract(backend: ContractBackend): void {
  describe("retention", () => {
    it("prunes old events with their record index and fixed bodies, in bounded steps, and keeps events a delivery or dead letter needs", async () => {
      const { store } = await openFresh(backend, { clock: fixedClock(T0) });
      const items: EnqueueItem[] = [];
      for (let n = 0; n < 30; n++) items.push(eventAt(`old${n}`, `s/invoices/\u001f${n % 3}`, n, [], { shaped: `{"n":${n}}` }));
      items.push(eventAt("old-pending", "s/invoices/\u001f0", 31, ["a"]));
      items.push(eventAt("old-dead", "s/invoices/\u001f1", 32, ["b"]));
      for (let n = 0; n < 5; n++) items.push(eventAt(`new${n}`, `s/invoices/\u001f${n % 3}`, 120 + n, [], { shaped: "{}" }));
      const deliveries = await store.enqueue(items);
      const dead = deliveries.find((d) => d.eventId === "old-dead")!;
      await store.deadLetter(dead, { target: "b", eventId: "old-dead", recordKey: dead.recordKey, at: at(40), attempts: 3, reason: "HTTP 400" }, logAt("b", "old-dead", 40));
      const before = (await store.stateSizes()).kinds.events;

      // A step looks at no more than its limit: a sweep at limit 4 takes several steps.
      const { removed, steps } = await sweep(store, "events", T0 + 60 * 60_000, 4);
      expect(removed).toBe(30);
      expect(steps).toBeGreaterThan(30 / 4);
      for (let n = 0; n < 30; n++) expect(await store.getEvent(`old${n}`)).toBeUndefined();
      expect(await store.getEvent("old0", "shaped")).toBeUndefined();
      expect(await store.getEvent("old-pending")).toBeDefined();
      expect(await store.getEvent("old-dead")).toBeDefined();
      expect((await store.getEvent("new1", "shaped"))?.fixed).toBe("{}");
      expect(await store.listEventIdsForRecord("s/invoices/\u001f0")).toEqual(["old-pending", "new0", "new3"]);
      const after = await store.stateSizes();
      expect(after.kinds.events.count).toBeLessThan(before.count);
      expect(after.kinds.fixed_bodies.count).toBe(5);
      expect((await store.pruneHorizons()).events).toBe(new Date(T0 + 60 * 60_000).toISOString());

      // Once its dead letter is pruned, the event goes at the next sweep; the pending one stays.
      expect((await sweep(store, "dead_letters", T0 + 60 * 60_000, 2)).removed).toBe(1);
      expect(await store.listDeadLetters()).toEqual([]);
      expect((await sweep(store, "events", T0 + 60 * 60_000, 100)).removed).toBe(1);
      expect(await store.getEvent("old-dead")).toBeUndefined();
      expect(await store.getEvent("old-pending")).toBeDefined();
      expect(await store.listPending()).toHaveLength(1);
      await store.close();
    });

    it("an event requeued while a sweep is under way stays", async () => {
      const { store } = await openFresh(backend, { clock: fixedClock(T0) });
      const items = [...Array.from({ length: 10 }, (_, n) => eventAt(`e${n}`, "s/invoices/\u001f2", n, [])), eventAt("keep", "s/invoices/\u001f1", 20, [])];
      await store.enqueue(items);
      // The first step starts the sweep; the replay of the last old event comes in between steps.
      let result = await store.pruneStep("events", T0 + 60 * 60_000, 1);
      await store.requeueEvent("keep", ["a"], "s/invoices/\u001f1");
      while (!result.done) result = await store.pruneStep("events", T0 + 60 * 60_000, 1);
      expect(await store.getEvent("keep")).toBeDefined();
      expect(await store.getEvent("e9")).toBeUndefined();
      await store.close();
    });

    it("ends a step once its time budget is spent, whatever its row limit, and the sweep still gets through", async () => {
      const { store } = await openFresh(backend, { clock: fixedClock(T0) });
      const old = Array.from({ length: 120 }, (_, n) => eventAt(`old${n}`, `s/invoices/\u001f${n % 7}`, n % 60, [], { shaped: "{}" }));
      const letters = Array.from({ length: 60 }, (_, n) => eventAt(`dl${n}`, `s/invoices/\u001f${n % 5}`, 1, ["a"]));
      await store.enqueue(old);
      for (const delivery of await store.enqueue(letters)) {
        await store.deadLetter(delivery, { target: "a", eventId: delivery.eventId, recordKey: delivery.recordKey, at: at(2), attempts: 1, reason: "HTTP 400" }, logAt("a", delivery.eventId, 2));
      }
      await store.enqueue([eventAt("new", "s/invoices/\u001f1", 120, [])]);
      for (let n = 0; n < 120; n++) {
        await store.appendLog(logAt(n % 2 ? "a" : "b", `old${n}`, n % 60));
        await store.appendPass({ source: "s", resource: n % 2 ? "invoices" : "clients" }, passAt(n % 60));
      }
      const cutoff = T0 + 60 * 60_000;
      // A budget of 0 ms: every step stops after its first entry (SQLite) or chunk (PostgreSQL),
      // where a row limit of 1,000 alone would take each kind in one step.
      const expected: Array<[PrunableKind, number, number]> = [["dead_letters", 60, 1], ["delivery_log", 180, 3], ["pass_journal", 120, 2], ["events", 180, 3]];
      for (const [kind, removed, moreStepsThan] of expected) {
        const swept = await sweep(store, kind, cutoff, 1000, 0);
        expect(swept.removed, kind).toBe(removed);
        expect(swept.steps, kind).toBeGreaterThan(moreStepsThan);
      }
      expect(await store.getEvent("old7")).toBeUndefined();
      expect(await store.getEvent("dl7")).toBeUndefined();
      expect(await store.getEvent("new")).toBeDefined();
      expect(await store.listDeadLetters()).toEqual([]);
      expect(Object.keys(await store.pruneHorizons()).sort()).toEqual(["dead_letters", "delivery_log", "events", "pass_journal"]);
      await store.close();
    });

    it("prunes the delivery log, dead letters and the pass journal by age, oldest first, per target and resource", async () => {
      const { store } = await openFresh(backend, { clock: fixedClock(T0) });
      for (let n = 0; n < 12; n++) {
        await store.appendLog(logAt("a", `e${n}`, n * 10));
        await store.appendLog(logAt("b", `e${n}`, n * 10));
        await store.appendPass({ source: "s", resource: "invoices" }, passAt(n * 10));
        await store.appendPass({ source: "s", resource: "clients" }, passAt(n * 10));
      }
      const [d1, d2] = await store.enqueue([eventAt("x1", "s/invoices/\u001f1", 0, ["a"]), eventAt("x2", "s/invoices/\u001f2", 0, ["a"])]);
      await store.deadLetter(d1!, { target: "a", eventId: "x1", recordKey: d1!.recordKey, at: at(5), attempts: 1, reason: "HTTP 400" }, logAt("a", "x1", 115));
      await store.deadLetter(d2!, { target: "a", eventId: "x2", recordKey: d2!.recordKey, at: at(100), attempts: 1, reason: "HTTP 400" }, logAt("a", "x2", 115));
      const cutoff = T0 + 55 * 60_000;
      expect((await sweep(store, "delivery_log", cutoff, 3)).removed).toBe(12);
      expect((await store.listLog({ target: "a", limit: 100 })).map((e) => e.at).sort()[0]).toBe(at(60));
      expect(await store.listLog({ target: "b", limit: 100 })).toHaveLength(6);
      expect((await sweep(store, "pass_journal", cutoff, 5)).removed).toBe(12);
      expect((await store.listPasses({ source: "s", resource: "invoices" })).map((p) => p.at)).toEqual([60, 70, 80, 90, 100, 110].map(at));
      expect(await store.listPasses({ source: "s", resource: "clients" })).toHaveLength(6);
      expect((await sweep(store, "dead_letters", cutoff, 1)).removed).toBe(1);
      expect((await store.listDeadLetters()).map((d) => d.eventId)).toEqual(["x2"]);
      expect(Object.keys(await store.pruneHorizons()).sort()).toEqual(["dead_letters", "delivery_log", "pass_journal"]);
      await store.close();
    });

    it("sizes state per kind, and gives space back after pruning", async () => {
      const { store } = await openFresh(backend, { clock: fixedClock(T0) });
      const items = Array.from({ length: 300 }, (_, n) => {
        const big = randomBytes(3000).toString("base64");
        const item = eventAt(`e${n}`, `s/invoices/\u001f${n}`, 0, []);
        const envelope = { ...item.event.envelope, data: { object: { big } } };
        return { ...item, event: { envelope, body: JSON.stringify(envelope) } };
      });
      await store.enqueue(items);
      await store.appendLog(logAt("a", "e1", 0));
      await store.appendPass({ source: "s", resource: "invoices" }, passAt(0));
      const sizes = await store.stateSizes();
      expect(sizes.kinds.events.count).toBeGreaterThanOrEqual(300);
      expect(sizes.kinds.events.bytes).toBeGreaterThan(300 * 3000);
      expect(sizes.kinds.delivery_log.count).toBeGreaterThanOrEqual(1);
      expect(sizes.kinds.pass_journal.count).toBe(1);
      expect(sizes.fileBytes).toBeGreaterThan(0);
      expect((await sweep(store, "events", T0 + 60_000, 50)).removed).toBe(300);
      const pruned = await store.stateSizes();
      expect(pruned.kinds.events.bytes).toBeLessThan(10_000);
      if (sizes.reclaim === "incremental vacuum") {
        expect(pruned.freeBytes).toBeGreaterThan(1_000_000);
        let pages = 0;
        for (let given = await store.reclaimSpace(64); given > 0; given = await store.reclaimSpace(64)) pages += given;
        expect(pages).toBeGreaterThan(0);
        const reclaimed = await store.stateSizes();
        expect(reclaimed.freeBytes).toBe(0);
        expect(reclaimed.fileBytes).toBeLessThan(sizes.fileBytes - 1_000_000);
      } else {
        await store.reclaimSpace(64);
      }
      await store.close();
    });
  });
}
