import { describe, expect, it } from "vitest";
import { fixedClock, item, logEntry, openFresh, type ContractBackend } from "./backend.js";

export function outboxContract(backend: ContractBackend): void {
  describe("outbox", () => {
    it("enqueues each event id once, in sequence, per target, and keeps the exact body", async () => {
      const { store } = await openFresh(backend, { clock: fixedClock(1_000) });
      const created = await store.enqueue([item("e1", "r1", ["a", "b"]), item("e2", "r1", ["a"]), item("e2", "r1", ["a"])]);
      expect(created.map((d) => [d.target, d.eventId, d.seq])).toEqual([["a", "e1", 1], ["b", "e1", 2], ["a", "e2", 3]]);
      expect(created[0]).toEqual({ seq: 1, target: "a", eventId: "e1", recordKey: "r1", attempts: 0, nextAttemptAt: 1_000 });
      expect(await store.enqueue([item("e1", "r1", ["a"])])).toEqual([]);
      expect(await store.listPending("a")).toEqual([created[0], created[2]]);
      expect((await store.listPending()).map((d) => d.seq).sort()).toEqual([1, 2, 3]);
      expect(await store.hasEvent("e1")).toBe(true);
      expect(await store.hasEvent("e9")).toBe(false);
      const stored = await store.getEvent("e2");
      expect(stored?.body).toBe(item("e2", "r1", []).event.body);
      expect(stored?.envelope).toEqual(item("e2", "r1", []).event.envelope);
      expect(await store.getEvent("e9")).toBeUndefined();
      await store.close();
    });

    it("reads several events in one call, each as getEvent gives it for the target; unknown ids are left out", async () => {
      const { store } = await openFresh(backend, { clock: fixedClock(5_000) });
      const routed = { ...item("e1", "r1", ["shaped", "plain"]), fixed: { shaped: '{"n":1}' } };
      await store.enqueue([routed, item("e2", "r2", ["shaped"]), item("e3", "r1", ["plain"])]);
      const forShaped = await store.getEvents(["e3", "e9", "e1", "e2"], "shaped");
      expect([...forShaped.keys()].sort()).toEqual(["e1", "e2", "e3"]);
      for (const id of ["e1", "e2", "e3"]) expect(forShaped.get(id)).toEqual(await store.getEvent(id, "shaped"));
      expect(forShaped.get("e1")?.fixed).toBe('{"n":1}');
      expect(forShaped.get("e2")?.fixed).toBeUndefined();
      expect((await store.getEvents(["e1"], "plain")).get("e1")?.fixed).toBeUndefined();
      expect((await store.getEvents(["e1", "e2"])).get("e1")).toEqual(await store.getEvent("e1"));
      expect((await store.getEvents([], "shaped")).size).toBe(0);
      await store.close();
    });

    it("keeps what targets' filters and transforms decided, with the event, in the same write", async () => {
      const { store, reopen } = await openFresh(backend, { clock: fixedClock(5_000) });
      const routed = { ...item("e1", "r1", ["shaped", "passed", "plain"]), fixed: { shaped: '{"n":1}', passed: "" }, filtered: ["picky"], failed: { broken: "transform expressions.x failed on s/invoices/1 (event e1): boom" } };
      const created = await store.enqueue([routed, item("e2", "r2", ["shaped"])]);
      expect(created.map((d) => [d.target, d.eventId])).toEqual([["shaped", "e1"], ["passed", "e1"], ["plain", "e1"], ["shaped", "e2"]]);
      await store.close();
      const again = await reopen();
      expect((await again.getEvent("e1", "shaped"))?.fixed).toBe('{"n":1}');
      expect((await again.getEvent("e1", "passed"))?.fixed).toBe("");
      expect((await again.getEvent("e1", "plain"))?.fixed).toBeUndefined();
      expect((await again.getEvent("e1"))?.fixed).toBeUndefined();
      expect((await again.getEvent("e2", "shaped"))?.fixed).toBeUndefined();
      expect((await again.getEvent("e1", "shaped"))?.body).toBe(routed.event.body);
      const [dead] = await again.listDeadLetters("broken");
      expect(dead).toMatchObject({ target: "broken", eventId: "e1", recordKey: "r1", attempts: 0, reason: routed.failed.broken });
      expect(dead!.seq).toBeGreaterThan(0);
      expect(await again.listLog({ target: "picky" })).toEqual([
        { at: new Date(5_000).toISOString(), target: "picky", eventId: "e1", eventType: "invoice.created", recordKey: "r1", attempt: 0, outcome: "filtered", latencyMs: 0 },
      ]);
      expect((await again.listLog({ target: "broken" })).map((l) => [l.outcome, l.error])).toEqual([["dead", routed.failed.broken]]);
      // A replayed dead letter keeps the event; a body fixed later is kept like one fixed at routing.
      const [requeued] = await again.requeueDeadLetters("broken");
      await again.putFixedBody("e1", "broken", '"fixed"');
      expect((await again.getEvent(requeued!.eventId, "broken"))?.fixed).toBe('"fixed"');
      await again.close();
    });

    it("an event routed to no target is stored with no delivery", async () => {
      const { store } = await openFresh(backend);
      expect(await store.enqueue([item("e1", "r1", [])])).toEqual([]);
      expect(await store.hasEvent("e1")).toBe(true);
      expect(await store.listPending()).toEqual([]);
      await store.close();
    });

    it("keeps per-record order: sequence numbers only grow, across calls and reopen", async () => {
      const { store, reopen } = await openFresh(backend);
      await store.enqueue([item("e1", "r1", ["a"]), item("e2", "r2", ["a"])]);
      await store.enqueue([item("e3", "r1", ["a"])]);
      await store.close();
      const again = await reopen();
      await again.enqueue([item("e4", "r1", ["a"])]);
      const pending = await again.listPending("a");
      expect(pending.map((d) => d.eventId)).toEqual(["e1", "e2", "e3", "e4"]);
      const seqs = pending.filter((d) => d.recordKey === "r1").map((d) => d.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      expect(new Set(pending.map((d) => d.seq)).size).toBe(4);
      await again.close();
    });

    it("claims, retries and acks: an update is kept, an ack removes the delivery and logs it", async () => {
      const { store, reopen } = await openFresh(backend);
      const [first, second] = await store.enqueue([item("e1", "r1", ["a"]), item("e2", "r1", ["a"])]);
      await store.updateDelivery({ ...first!, attempts: 2, nextAttemptAt: 99_000, lastError: "HTTP 503" });
      await store.close();
      let again = await reopen();
      expect((await again.listPending("a"))[0]).toEqual({ ...first!, attempts: 2, nextAttemptAt: 99_000, lastError: "HTTP 503" });
      await Promise.all([again.ackDelivery(first!, logEntry("a", "e1")), again.ackDelivery(second!, logEntry("a", "e2"))]);
      await again.close();
      again = await reopen();
      expect(await again.listPending("a")).toEqual([]);
      expect((await again.listLog({ target: "a" })).map((l) => l.eventId)).toEqual(["e2", "e1"]);
      expect(await again.hasEvent("e1")).toBe(true); // the event stays: replay and the record view use it
      await again.close();
    });

    it("acks batched together: each stored with its log entry, numbered and trimmed as one at a time would be", async () => {
      const { store, reopen } = await openFresh(backend, { logLimit: 5 });
      const created = await store.enqueue([...Array.from({ length: 8 }, (_, i) => item(`e${i}`, `r${i}`, ["a"])), item("x1", "r1", ["b"]), item("x2", "r2", ["b"])]);
      await store.ackDelivery(created[0]!, logEntry("a", "e0"));
      // The same turn: one batch (or several: the contract holds either way).
      await Promise.all(created.slice(1).map((d) => store.ackDelivery(d, logEntry(d.target, d.eventId))));
      await store.close();
      const again = await reopen();
      expect(await again.listPending()).toEqual([]);
      expect((await again.listLog({ target: "a" })).map((l) => l.eventId)).toEqual(["e7", "e6", "e5", "e4", "e3"]);
      expect(await again.listLog({ target: "b" })).toEqual([logEntry("b", "x2"), logEntry("b", "x1")]);
      await again.ackDelivery((await again.enqueue([item("e8", "r8", ["a"])]))[0]!, logEntry("a", "e8"));
      expect((await again.listLog({ target: "a" })).map((l) => l.eventId)).toEqual(["e8", "e7", "e6", "e5", "e4"]);
      await again.close();
    });

    it("an ack batch that fails stores none of its acks; only acks whose promise resolved left the outbox and were logged", async () => {
      const { store, url } = await openFresh(backend);
      const created = await store.enqueue(Array.from({ length: 6 }, (_, i) => item(`e${i}`, `r${i}`, ["a"])));
      await store.ackDelivery(created[0]!, logEntry("a", "e0"));
      await backend.refuseLogEntries(url, "poison");
      const results = await Promise.allSettled(created.slice(1).map((d) => store.ackDelivery(d, { ...logEntry("a", d.eventId), ...(d.eventId === "e3" ? { error: "poison" } : {}) })));
      const acked = created.slice(1).filter((_, i) => results[i]!.status === "fulfilled").map((d) => d.eventId);
      expect(results[2]!.status).toBe("rejected");
      expect(acked).not.toContain("e3");
      expect((await store.listPending("a")).map((d) => d.eventId).sort()).toEqual(["e1", "e2", "e3", "e4", "e5"].filter((id) => !acked.includes(id)));
      expect((await store.listLog({ target: "a" })).map((l) => l.eventId).sort()).toEqual(["e0", ...acked].sort());
      // The refused ones can be acked later, numbered after what was stored.
      const retried = created.slice(1).filter((d) => !acked.includes(d.eventId) && d.eventId !== "e3");
      await Promise.all(retried.map((d) => store.ackDelivery(d, logEntry("a", d.eventId))));
      expect((await store.listPending("a")).map((d) => d.eventId)).toEqual(["e3"]);
      expect((await store.listLog({ target: "a" })).map((l) => l.eventId).sort()).toEqual(["e0", "e1", "e2", "e4", "e5"]);
      await store.close();
    });

    it("dead-letters, lists and requeues with new sequence numbers (all, or one event)", async () => {
      const { store } = await openFresh(backend);
      const [d1, d2, d3] = await store.enqueue([item("e1", "r1", ["a"]), item("e2", "r2", ["a"]), item("e3", "r3", ["b"])]);
      await store.deadLetter(d1!, { target: "a", eventId: "e1", recordKey: "r1", at: "x", attempts: 5, reason: "HTTP 400", response: { status: 400, body: "bad" } }, logEntry("a", "e1", "dead"));
      await store.deadLetter(d2!, { target: "a", eventId: "e2", recordKey: "r2", at: "y", attempts: 1, reason: "HTTP 410" }, logEntry("a", "e2", "dead"));
      await store.deadLetter(d3!, { target: "b", eventId: "e3", recordKey: "r3", at: "z", attempts: 1, reason: "HTTP 422" }, logEntry("b", "e3", "dead"));
      expect(await store.listPending()).toEqual([]);
      expect(await store.listDeadLetters("a")).toEqual([
        { seq: d1!.seq, target: "a", eventId: "e1", recordKey: "r1", at: "x", attempts: 5, reason: "HTTP 400", response: { status: 400, body: "bad" } },
        { seq: d2!.seq, target: "a", eventId: "e2", recordKey: "r2", at: "y", attempts: 1, reason: "HTTP 410" },
      ]);
      expect((await store.listDeadLetters()).length).toBe(3);
      const one = await store.requeueDeadLetters("a", "e2");
      expect(one.map((d) => [d.eventId, d.attempts])).toEqual([["e2", 0]]);
      expect(one[0]!.seq).toBeGreaterThan(d3!.seq);
      const rest = await store.requeueDeadLetters();
      expect(rest.map((d) => d.eventId).sort()).toEqual(["e1", "e3"]);
      expect(await store.listDeadLetters()).toEqual([]);
      expect((await store.listPending("a")).map((d) => d.eventId)).toEqual(["e2", "e1"]);
      expect((await store.listLog({ target: "a" })).map((l) => l.outcome)).toEqual(["dead", "dead"]);
      await store.close();
    });

    it("requeues a stored event for chosen targets, and refuses an unknown one", async () => {
      const { store } = await openFresh(backend);
      await store.enqueue([item("e1", "r1", [])]);
      const created = await store.requeueEvent("e1", ["a", "b"], "r1");
      expect(created.map((d) => [d.target, d.eventId, d.recordKey])).toEqual([["a", "e1", "r1"], ["b", "e1", "r1"]]);
      expect((await store.listPending()).length).toBe(2);
      await expect(store.requeueEvent("nope", ["a"], "r1")).rejects.toThrow(/no event nope/);
      await store.close();
    });

    it("moves pending deliveries of targets no longer configured to dead letters, replayable to another target", async () => {
      const { store } = await openFresh(backend);
      await store.enqueue([item("e1", "r1", ["a", "b", "c"]), item("e2", "r1", ["b"])]);
      expect(await store.pendingTargets()).toEqual({ a: 1, b: 2, c: 1 });
      expect(await store.deadLetterPendingExcept(["a"])).toEqual({ b: 2, c: 1 });
      expect((await store.listPending()).map((d) => d.target)).toEqual(["a"]);
      expect(await store.pendingTargets()).toEqual({ a: 1 });
      const dead = await store.listDeadLetters("b");
      expect(dead.map((d) => [d.eventId, d.recordKey, d.reason])).toEqual([["e1", "r1", "target b removed from config"], ["e2", "r1", "target b removed from config"]]);
      expect(await store.deadLetterPendingExcept(["a"])).toEqual({});
      const replayed = await store.requeueDeadLetters("b", undefined, "a");
      expect(replayed.map((d) => [d.target, d.eventId])).toEqual([["a", "e1"], ["a", "e2"]]);
      expect(await store.listDeadLetters("b")).toEqual([]);
      expect(await store.pendingTargets()).toEqual({ a: 3 });
      await store.close();
    });

    it("keeps each target's pending and dead-letter counts and oldest pending event through every outbox change (queueGauges)", async () => {
      const { store, reopen } = await openFresh(backend);
      const counted = async (target: string) => {
        const pending = await store.listPending(target);
        return { pending: pending.length, deadLetters: (await store.listDeadLetters(target)).length, ...(pending[0] ? { oldestPendingEventId: pending[0].eventId } : {}) };
      };
      const check = async () => {
        for (const target of ["a", "b", "c", "broken"]) expect(await store.queueGauges(target), target).toEqual(await counted(target));
      };
      expect(await store.queueGauges("a")).toEqual({ pending: 0, deadLetters: 0 });
      const created = await store.enqueue([item("e1", "r1", ["a", "b"]), item("e2", "r2", ["a", "c"]), { ...item("e3", "r3", ["a"]), failed: { broken: "transform failed" } }]);
      await check();
      expect(await store.queueGauges("a")).toEqual({ pending: 3, deadLetters: 0, oldestPendingEventId: "e1" });
      await store.ackDelivery(created[0]!, logEntry("a", "e1"));
      await store.updateDelivery({ ...created[2]!, attempts: 1, nextAttemptAt: 9 });
      await store.deadLetter(created[2]!, { target: "a", eventId: "e2", recordKey: "r2", at: "2026-11-23T10:00:00.000Z", attempts: 1, reason: "gone" }, logEntry("a", "e2", "dead"));
      await check();
      expect(await store.queueGauges("a")).toEqual({ pending: 1, deadLetters: 1, oldestPendingEventId: "e3" });
      await store.requeueDeadLetters("a", undefined, "b");
      await store.requeueEvent("e1", ["c"], "r1");
      await check();
      await store.deadLetterPendingExcept(["a"]);
      await check();
      expect(await store.queueGauges("b")).toEqual({ pending: 0, deadLetters: 2 });
      const before = await Promise.all(["a", "b", "c"].map((target) => store.queueGauges(target)));
      await store.close();
      const again = await reopen();
      expect(await Promise.all(["a", "b", "c"].map((target) => again.queueGauges(target)))).toEqual(before);
      expect(await again.queueGauges("c")).toEqual({ pending: 0, deadLetters: 2 });
      await again.close();
    });

    it("lists every event of a record, oldest first, only that record's, the newest `limit`", async () => {
      const { store } = await openFresh(backend);
      await store.enqueue([item("e1", "s/r/\u001f1", []), item("e2", "s/r/\u001f12", ["a"]), item("e3", "s/r/\u001f1", ["a"])]);
      await store.enqueue([item("e4", "s/r/\u001f1", [])]);
      expect(await store.listEventIdsForRecord("s/r/\u001f1")).toEqual(["e1", "e3", "e4"]);
      expect(await store.listEventIdsForRecord("s/r/\u001f1", 2)).toEqual(["e3", "e4"]);
      expect(await store.listEventIdsForRecord("s/r/\u001f12")).toEqual(["e2"]);
      expect(await store.listEventIdsForRecord("s/r/")).toEqual([]);
      await store.close();
    });
  });

  describe("delivery log", () => {
    it("is newest first, per target or all, bounded per target", async () => {
      const { store } = await openFresh(backend, { logLimit: 5 });
      for (let i = 0; i < 12; i += 1) await store.appendLog({ ...logEntry("a", `e${i}`), at: String(i) });
      await store.appendLog({ ...logEntry("b", "x1", "retry"), error: "timeout" });
      expect((await store.listLog({ target: "a" })).map((l) => l.eventId)).toEqual(["e11", "e10", "e9", "e8", "e7"]);
      expect((await store.listLog({ target: "a", limit: 2 })).map((l) => l.eventId)).toEqual(["e11", "e10"]);
      expect(await store.listLog({ target: "b" })).toEqual([{ ...logEntry("b", "x1", "retry"), error: "timeout" }]);
      expect((await store.listLog({})).length).toBe(6);
      await store.close();
    });
  });

  describe("read-only (dry run)", () => {
    it("sees its own writes and leaves the stored state as it was", async () => {
      const { store, reopen } = await openFresh(backend);
      const id = { source: "s", resource: "invoices" };
      await store.putResourceState(id, { generation: "g", initialized: false });
      await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: { version: 1, fingerprint: "f", json: "{}" }, fresh: true }]);
      const epoch = store.epoch;
      await store.close();

      const dry = await reopen({ readOnly: true });
      expect(dry.readOnly).toBe(true);
      expect(dry.epoch).toBe(epoch);
      expect(await dry.getResourceState(id)).toMatchObject({ initialized: false });
      await dry.putResourceState(id, { generation: "g", initialized: true });
      await dry.putSnapshots(id, [{ kind: null, id: "2", snapshot: { version: 1, fingerprint: "f", json: "{}" }, fresh: true }, { kind: null, id: "1", snapshot: { version: 2, fingerprint: "", json: "", gone: true } }]);
      await dry.enqueue([item("e1", "r1", ["a"])]);
      await dry.putBudget("s", { period: "2026-11", used: 3 });
      expect(await dry.getResourceState(id)).toMatchObject({ initialized: true });
      expect(await dry.countSnapshots(id)).toBe(1);
      await dry.close();

      const after = await reopen();
      expect(await after.getResourceState(id)).toMatchObject({ initialized: false });
      expect(await after.countSnapshots(id)).toBe(1);
      expect(await after.snapshotSeq()).toBe(0);
      expect(await after.hasEvent("e1")).toBe(false);
      expect(await after.getBudget("s")).toBeUndefined();
      // Sequence numbers were not used up either.
      expect((await after.enqueue([item("e2", "r1", ["a"])]))[0]!.seq).toBe(1);
      await after.close();
    });
  });
}
