import { afterEach, describe, expect, it } from "vitest";
import { verifySignature, startReceiver, type Receiver } from "../helpers/receiver.js";
import { registerSecrets } from "../../src/telemetry/logger.js";
import { harness, idOf, makeEvent, pause, SECRET, START, STORES, targetConfig, waitUntil, type Harness } from "./harness.js";

const S = 1000;

describe.each(STORES)("Dispatcher over real HTTP (%s store)", (_name, factory) => {
  let receivers: Receiver[] = [];
  let h: Harness | undefined;

  async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  }

  afterEach(async () => {
    await h?.close();
    h = undefined;
    for (const r of receivers) await r.close();
    receivers = [];
  });

  const pendingCount = async (): Promise<number> => (await h!.store.listPending()).length;

  it("delivers signed standard bodies with the contract headers, acks and logs", async () => {
    const rx = await receiver();
    h = await harness(factory, [targetConfig(rx.url, { headers: { "X-Tenant": "acme" } })], { userAgent: "retrohook/9.9.9" });
    const event = makeEvent("evt_1", "1");
    await h.enqueue([{ event, recordId: "1" }]);
    await h.dispatcher.start();
    await waitUntil(async () => (await pendingCount()) === 0, 5000, "ack");

    expect(rx.requests).toHaveLength(1);
    const request = rx.requests[0]!;
    expect(request.method).toBe("POST");
    expect(request.body).toBe(event.body);
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["user-agent"]).toBe("retrohook/9.9.9");
    expect(request.headers["x-tenant"]).toBe("acme");
    expect(request.headers["webhook-id"]).toBe("evt_1");
    expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
    expect(verifySignature(request, SECRET)).toEqual(event.envelope);

    const log = await h.store.listLog({ target: "erp" });
    expect(log).toMatchObject([{ eventId: "evt_1", outcome: "delivered", status: 200, attempt: 1, eventType: "cost_invoice.updated" }]);
  });

  it("signs with a raw secret that the package's raw mode verifies, on every format", async () => {
    const rx = await receiver();
    const raw = "plain-shared-secret";
    const formats = ["standard", "cloudevents", "fakturownia", "facturascripts"] as const;
    h = await harness(
      factory,
      formats.map((format) => targetConfig(rx.url, { name: format, format, secret: raw })),
    );
    await h.enqueue([{ event: makeEvent("evt_raw", "7"), recordId: "7" }]);
    await h.dispatcher.start();
    await rx.waitFor(4);
    for (const request of rx.requests) {
      expect(request.headers["webhook-id"]).toBe("evt_raw");
      expect(() => verifySignature(request, raw)).not.toThrow();
    }
    const cloud = rx.requests.find((r) => r.headers["content-type"] === "application/cloudevents+json");
    expect(JSON.parse(cloud!.body)).toMatchObject({ specversion: "1.0", type: "com.retrohook.cost_invoice.updated" });
    expect(rx.requests.filter((r) => r.headers["x-webhook-signature"])).toHaveLength(1);
  });

  it("keeps per-record order under retries while other records go on", async () => {
    const rx = await receiver();
    let failedA1 = false;
    rx.respond((request) => {
      if (idOf(request.body) === "a1" && !failedA1) {
        failedA1 = true;
        return { status: 503 };
      }
      return { status: 200 };
    });
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.enqueue([
      { event: makeEvent("a1", "1"), recordId: "1" },
      { event: makeEvent("b1", "2"), recordId: "2" },
      { event: makeEvent("a2", "1"), recordId: "1" },
      { event: makeEvent("b2", "2"), recordId: "2" },
      { event: makeEvent("a3", "1"), recordId: "1" },
    ]);
    await h.dispatcher.start();
    await rx.waitFor(3);
    await pause(100);
    // a1 failed: a2 and a3 wait; record 2 went through
    expect(rx.requests.map((r) => idOf(r.body)).sort()).toEqual(["a1", "b1", "b2"]);
    const [a1] = await h.store.listPending();
    expect(a1).toMatchObject({ eventId: "a1", attempts: 1, nextAttemptAt: START + 5 * S, lastError: "HTTP 503" });

    h.clock.advance(5 * S);
    await waitUntil(async () => (await pendingCount()) === 0, 5000, "record 1 drained");
    const order = rx.requests.map((r) => idOf(r.body)).filter((id) => id.startsWith("a"));
    expect(order).toEqual(["a1", "a1", "a2", "a3"]);
  });

  it("runs different records concurrently up to target.concurrency", async () => {
    const rx = await receiver({ status: 200, delayMs: 150 });
    h = await harness(factory, [targetConfig(rx.url, { concurrency: 3 })]);
    await h.enqueue(Array.from({ length: 9 }, (_, i) => ({ event: makeEvent(`e${i}`, String(i)), recordId: String(i) })));
    const started = Date.now();
    await h.dispatcher.start();
    await waitUntil(async () => (await pendingCount()) === 0, 5000, "all delivered");
    expect(rx.maxInProgress).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 140);
  });

  it.each([400, 410])("dead-letters a %i at once, keeps the response, and unblocks the record", async (status) => {
    const rx = await receiver();
    rx.replySequence([{ status, body: '{"error":"no such ledger"}' }]);
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.enqueue([
      { event: makeEvent("x1", "1"), recordId: "1" },
      { event: makeEvent("x2", "1"), recordId: "1" },
    ]);
    await h.dispatcher.start();
    await waitUntil(async () => (await pendingCount()) === 0, 5000, "drained");
    expect(rx.requests.map((r) => idOf(r.body))).toEqual(["x1", "x2"]);
    const dead = await h.store.listDeadLetters("erp");
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ eventId: "x1", attempts: 1, response: { status, body: '{"error":"no such ledger"}' } });
    expect(dead[0]!.reason).toContain(`HTTP ${status}`);
    const log = await h.store.listLog({ target: "erp" });
    expect(log.map((l) => l.outcome).sort()).toEqual(["dead", "delivered"]);
  });

  it("honours Retry-After on a 503: no attempt before it", async () => {
    const rx = await receiver();
    rx.replySequence([{ status: 503, headers: { "retry-after": "120" } }]);
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.enqueue([{ event: makeEvent("r1", "1"), recordId: "1" }]);
    await h.dispatcher.start();
    await rx.waitFor(1);
    await waitUntil(async () => (await h!.store.listPending())[0]?.attempts === 1, 5000, "retry recorded");
    expect((await h.store.listPending())[0]!.nextAttemptAt).toBe(START + 120 * S);

    h.clock.advance(119 * S);
    await pause(100);
    expect(rx.requests).toHaveLength(1);
    h.clock.advance(1 * S);
    await rx.waitFor(2);
    await waitUntil(async () => (await pendingCount()) === 0, 5000, "delivered");
  });

  it("does not follow a 301", async () => {
    const elsewhere = await receiver();
    const rx = await receiver({ status: 301, headers: { location: `${elsewhere.url}?token=abc` } });
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.enqueue([{ event: makeEvent("m1", "1"), recordId: "1" }]);
    await h.dispatcher.start();
    await rx.waitFor(1);
    await waitUntil(async () => (await h!.store.listPending())[0]?.attempts === 1, 5000, "retry recorded");
    await pause(50);
    expect(elsewhere.requests).toHaveLength(0);
    const [pending] = await h.store.listPending();
    expect(pending!.lastError).toContain("HTTP 301");
    expect(pending!.lastError).toContain("not followed");
    expect(pending!.lastError).not.toContain("token=abc");
  });

  it("keeps no registered secret in what it stores of a receiver's answer", async () => {
    const secret = "ECHOEDtok3nOfTheTarget";
    registerSecrets([secret]);
    const rx = await receiver();
    // A redirect whose path carries the token (the retry's lastError), then an echo of it (the dead letter).
    rx.replySequence([
      { status: 302, headers: { location: `${rx.url}/callback/${secret}` } },
      { status: 400, body: `{"error":"token ${secret} is not valid here"}` },
    ]);
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.enqueue([{ event: makeEvent("e1", "1"), recordId: "1" }]);
    await h.dispatcher.start();
    await waitUntil(async () => (await h!.store.listPending())[0]?.attempts === 1, 5000, "retry recorded");
    const [pending] = await h.store.listPending();
    expect(pending!.lastError).toContain("HTTP 302");
    expect(pending!.lastError).not.toContain(secret);
    h.clock.advance(3_600 * S);
    await waitUntil(async () => (await h!.store.listDeadLetters()).length === 1, 5000, "dead letter");
    const [dead] = await h.store.listDeadLetters("erp");
    expect(dead!.response).toEqual({ status: 400, body: `{"error":"token *** is not valid here"}` });
    const stored = JSON.stringify({ dead, log: await h.store.listLog({ target: "erp" }) });
    expect(stored).toContain("HTTP 302");
    expect(stored).not.toContain(secret);
  });

  it("retries a timeout and a reset connection", async () => {
    const rx = await receiver();
    rx.replySequence([{ status: 200, delayMs: 1_000 }, { status: 200, reset: true }]);
    h = await harness(factory, [targetConfig(rx.url, { timeout: 200 })]);
    await h.enqueue([{ event: makeEvent("t1", "1"), recordId: "1" }]);
    await h.dispatcher.start();
    await waitUntil(async () => (await h!.store.listPending())[0]?.attempts === 1, 5000, "timeout recorded");
    expect((await h.store.listPending())[0]!.lastError).toMatch(/^timeout:/);
    h.clock.advance(5 * S);
    await waitUntil(async () => (await h!.store.listPending())[0]?.attempts === 2, 5000, "reset recorded");
    expect((await h.store.listPending())[0]!.lastError).toMatch(/^connection:/);
    h.clock.advance(5 * 60 * S);
    await waitUntil(async () => (await pendingCount()) === 0, 5000, "delivered");
  });

  it("delivers everything in per-record order after an outage", async () => {
    const rx = await receiver({ status: 503 });
    h = await harness(factory, [targetConfig(rx.url, { concurrency: 2 })]);
    const records = ["1", "2", "3"];
    await h.enqueue(
      [1, 2, 3].flatMap((n) => records.map((r) => ({ event: makeEvent(`r${r}-${n}`, r), recordId: r }))),
    );
    await h.dispatcher.start();
    await rx.waitFor(3);
    // the outage goes on for a while: retries, then the breaker pauses the target
    for (let i = 0; i < 6; i += 1) {
      h.clock.advance(5 * 60 * S);
      await pause(30);
    }
    rx.reply({ status: 204 });
    for (let i = 0; i < 40 && (await pendingCount()) > 0; i += 1) {
      h.clock.advance(60 * S);
      await pause(30);
    }
    expect(await pendingCount()).toBe(0);
    const delivered = rx.requests.filter((_r, i) => i >= 0).map((r) => idOf(r.body));
    for (const r of records) {
      const successes = (await h.store.listLog({ target: "erp", limit: 1000 }))
        .filter((l) => l.outcome === "delivered" && l.eventId.startsWith(`r${r}-`))
        .reverse()
        .map((l) => l.eventId);
      expect(successes).toEqual([`r${r}-1`, `r${r}-2`, `r${r}-3`]);
      // nothing of a record was sent before its predecessor succeeded
      const sent = delivered.filter((id) => id.startsWith(`r${r}-`));
      const firstOf2 = sent.indexOf(`r${r}-2`);
      expect(sent.slice(firstOf2).includes(`r${r}-1`)).toBe(false);
    }
    expect(await h.store.listDeadLetters()).toHaveLength(0);
  });

  it("dead-letters past max_age with the reason and last response", async () => {
    const rx = await receiver({ status: 503, body: "down for maintenance" });
    h = await harness(factory, [targetConfig(rx.url, { retry: { max_age: 3_600_000 } })], { breaker: { failureThreshold: 1000 } });
    await h.enqueue([{ event: makeEvent("old", "1"), recordId: "1" }]);
    await h.dispatcher.start();
    for (let i = 0; i < 20 && (await h.store.listDeadLetters()).length === 0; i += 1) {
      await waitUntil(() => rx.requests.length >= i + 1, 5000, `attempt ${i + 1}`);
      await pause(20);
      h.clock.advance(30 * 60 * S);
    }
    const dead = await h.store.listDeadLetters("erp");
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toContain("max_age 1h exceeded");
    expect(dead[0]!.reason).toContain("HTTP 503");
    expect(dead[0]!.response).toEqual({ status: 503, body: "down for maintenance" });
    expect(await pendingCount()).toBe(0);
    // the last attempt was at the deadline, none after it
    const last = (await h.store.listLog({ target: "erp" }))[0]!;
    expect(Date.parse(last.at)).toBe(START + 3_600_000);
  });

  it("opens the breaker after 5 failures, says why, and probes one at a time", async () => {
    const rx = await receiver({ status: 503 });
    h = await harness(factory, [targetConfig(rx.url, { concurrency: 1 })]);
    await h.enqueue(Array.from({ length: 8 }, (_, i) => ({ event: makeEvent(`p${i}`, String(i)), recordId: String(i) })));
    await h.dispatcher.start();
    await rx.waitFor(5);
    await pause(100);
    expect(rx.requests).toHaveLength(5);
    const paused = h.log.lines.find((l) => l.msg.startsWith("target paused"));
    expect(paused).toMatchObject({ level: "warn", target: "erp", reason: "HTTP 503" });
    expect(h.log.text()).not.toContain(SECRET);
    expect(h.dispatcher.status()[0]!.breaker.status).toBe("open");

    h.clock.advance(29 * S); // the failed deliveries are due again, but the breaker holds them
    await pause(100);
    expect(rx.requests).toHaveLength(5);
    h.clock.advance(1 * S);
    await rx.waitFor(6);
    await pause(100);
    expect(rx.requests).toHaveLength(6); // one probe
    expect(h.log.lines.some((l) => l.msg.startsWith("target still paused"))).toBe(true);

    rx.reply({ status: 200 });
    h.clock.advance(60 * S);
    await waitUntil(async () => (await pendingCount()) === 0, 5000, "drained after the probe");
    expect(h.dispatcher.status()[0]!.breaker.status).toBe("closed");
    expect(h.log.lines.some((l) => l.msg === "target resumed")).toBe(true);
  });

  it("while the breaker holds a target, deliveries past max_age become dead letters with the breaker's reason", async () => {
    const rx = await receiver({ status: 503 });
    h = await harness(factory, [targetConfig(rx.url, { concurrency: 1, retry: { max_age: 3_600_000 } })]);
    await h.enqueue(Array.from({ length: 8 }, (_, i) => ({ event: makeEvent(`q${i}`, String(i)), recordId: String(i) })));
    await h.dispatcher.start();
    await rx.waitFor(5);
    await pause(50);
    expect(h.dispatcher.status()[0]!.breaker.status).toBe("open");
    // probes keep failing past the deadline
    for (let i = 0; i < 12 && (await pendingCount()) > 0; i += 1) {
      h.clock.advance(10 * 60 * S);
      await pause(50);
    }
    expect(await pendingCount()).toBe(0);
    const dead = await h.store.listDeadLetters("erp");
    expect(dead).toHaveLength(8);
    expect(dead.some((d) => d.reason.includes("exceeded while the target was paused (HTTP 503)"))).toBe(true);
    // far fewer attempts than deliveries × retries: the breaker held them
    expect(rx.requests.length).toBeLessThan(20);
  });

  it("runOnce: one attempt per due delivery, follows chains, never waits for a retry", async () => {
    const good = await receiver();
    const bad = await receiver({ status: 503 });
    h = await harness(factory, [targetConfig(good.url, { name: "good" }), targetConfig(bad.url, { name: "bad" })]);
    await h.enqueue([
      { event: makeEvent("c1", "1"), recordId: "1" },
      { event: makeEvent("c2", "1"), recordId: "1" },
      { event: makeEvent("d1", "2"), recordId: "2" },
    ]);
    const started = Date.now();
    const result = await h.dispatcher.runOnce();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result).toMatchObject({ delivered: 3, retried: 2, dead: 0, stateErrors: 0 });
    expect(good.requests.map((r) => idOf(r.body))).toEqual(expect.arrayContaining(["c1", "c2", "d1"]));
    expect(bad.requests.map((r) => idOf(r.body)).sort()).toEqual(["c1", "d1"]);
    expect(result.pending).toEqual([
      { target: "bad", eventId: "c1", nextAttemptAt: START + 5 * S },
      { target: "bad", eventId: "c2", nextAttemptAt: START + 5 * S },
      { target: "bad", eventId: "d1", nextAttemptAt: START + 5 * S },
    ].sort((a, b) => a.eventId.localeCompare(b.eventId)).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt));

    // a second run before the retry is due attempts nothing
    const again = await h.dispatcher.runOnce();
    expect(again).toMatchObject({ delivered: 0, retried: 0, dead: 0 });
    expect(bad.requests).toHaveLength(2);
  });

  it("stop() waits for in-flight attempts within the grace, then aborts the rest", async () => {
    const rx = await receiver({ status: 200, delayMs: 150 });
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.enqueue([{ event: makeEvent("s1", "1"), recordId: "1" }]);
    await h.dispatcher.start();
    await rx.waitFor(1);
    await h.dispatcher.stop(2_000);
    expect(await pendingCount()).toBe(0);

    const slow = await receiver({ status: 200, delayMs: 3_000 });
    const h2 = await harness(factory, [targetConfig(slow.url)]);
    try {
      await h2.enqueue([{ event: makeEvent("s2", "2"), recordId: "2" }]);
      await h2.dispatcher.start();
      await slow.waitFor(1);
      const started = Date.now();
      await h2.dispatcher.stop(100);
      expect(Date.now() - started).toBeLessThan(1_000);
      const [still] = await h2.store.listPending();
      expect(still).toMatchObject({ eventId: "s2", attempts: 0 });
      expect(await h2.store.listLog({ target: "erp" })).toHaveLength(0);
    } finally {
      await h2.close();
    }
  });

  it("operator pause holds deliveries until resume", async () => {
    const rx = await receiver();
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.dispatcher.start();
    await h.dispatcher.pause("erp", "ERP maintenance");
    await h.enqueue([{ event: makeEvent("o1", "1"), recordId: "1" }]);
    await pause(100);
    expect(rx.requests).toHaveLength(0);
    expect(h.dispatcher.status()[0]).toMatchObject({ pending: 1, paused: { reason: "ERP maintenance" } });
    expect(h.log.lines.find((l) => l.msg === "target paused")).toMatchObject({ target: "erp", reason: "ERP maintenance" });
    await h.dispatcher.resume("erp");
    await waitUntil(async () => (await pendingCount()) === 0, 5000, "delivered after resume");
  });

  it("an operator pause survives a restart", async () => {
    const rx = await receiver();
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.dispatcher.pause("erp", "ERP maintenance");
    await h.dispatcher.stop(0);
    const { Dispatcher } = await import("../../src/delivery/dispatcher.js");
    const again = new Dispatcher({ store: h.store, targets: [targetConfig(rx.url)], clock: h.clock, logger: h.log.logger });
    try {
      await h.store.enqueue([{ event: makeEvent("o2", "1"), recordKey: "k", targets: ["erp"] }]);
      await again.start();
      await pause(100);
      expect(rx.requests).toHaveLength(0);
      expect(again.status()[0]!.paused?.reason).toBe("ERP maintenance");
      await again.resume("erp");
      await rx.waitFor(1);
      expect(await h.store.getTargetState("erp")).toEqual({});
    } finally {
      await again.stop(0);
    }
  });

  it("notify() picks up deliveries written without enqueued(); a replay goes out again", async () => {
    const rx = await receiver();
    rx.replySequence([{ status: 422 }]);
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.dispatcher.start();
    await h.store.enqueue([{ event: makeEvent("n1", "1"), recordKey: "k", targets: ["erp"] }]);
    h.dispatcher.notify();
    await waitUntil(async () => (await h!.store.listDeadLetters()).length === 1, 5000, "dead letter");
    h.dispatcher.enqueued(await h.store.requeueDeadLetters("erp"));
    await waitUntil(async () => (await pendingCount()) === 0 && rx.requests.length === 2, 5000, "replayed");
    expect(rx.requests.map((r) => r.headers["webhook-id"])).toEqual(["n1", "n1"]);
  });

  it("sendTest posts a signed event without touching the outbox", async () => {
    const rx = await receiver({ status: 204 });
    h = await harness(factory, [targetConfig(rx.url, { format: "cloudevents" })]);
    const test = makeEvent("evt_test", "0", { type: "retrohook.test" });
    const { result, verdict } = await h.dispatcher.sendTest("erp", test);
    expect(result.status).toBe(204);
    expect(verdict.outcome).toBe("success");
    expect(verifySignature(rx.requests[0]!, SECRET)).toMatchObject({ id: "evt_test", type: "com.retrohook.retrohook.test" });
    expect(await h.store.listLog({})).toHaveLength(0);
  });

  it("loads pending deliveries from the store at start", async () => {
    const rx = await receiver();
    h = await harness(factory, [targetConfig(rx.url)]);
    await h.store.enqueue([
      { event: makeEvent("l1", "1"), recordKey: "k1", targets: ["erp", "removed-target"] },
      { event: makeEvent("l2", "1"), recordKey: "k1", targets: ["erp"] },
    ]);
    await h.dispatcher.start();
    await rx.waitFor(2);
    expect(rx.requests.map((r) => idOf(r.body))).toEqual(["l1", "l2"]);
    expect(h.log.lines.find((l) => l.msg.startsWith("pending deliveries for a target not in the config"))).toMatchObject({
      target: "removed-target",
      count: 1,
    });
  });
});

describe("Dispatcher and failing state writes (memory store)", () => {
  it("a failed ack leaves the delivery pending; it is sent again", async () => {
    const { MemoryStateStore } = await import("../helpers/memory-store.js");
    const rx = await startReceiver();
    const h = await harness(async (clock) => new MemoryStateStore(clock), [targetConfig(rx.url)]);
    try {
      (h.store as InstanceType<typeof MemoryStateStore>).failNext("ackDelivery");
      await h.enqueue([{ event: makeEvent("f1", "1"), recordId: "1" }]);
      await h.dispatcher.start();
      await rx.waitFor(1);
      await waitUntil(() => h.log.lines.some((l) => l.level === "error"), 5000, "error logged");
      expect(h.log.lines.find((l) => l.level === "error")!.msg).toContain("state write failed");
      expect(await h.store.listPending()).toHaveLength(1);
      h.clock.advance(5 * S);
      await rx.waitFor(2);
      await waitUntil(async () => (await h.store.listPending()).length === 0, 5000, "acked");
    } finally {
      await h.close();
      await rx.close();
    }
  });
});

describe("Dispatcher: sends go on while acks are recorded (memory store)", () => {
  /** A receiver, and a harness on a memory store whose acks wait (once `hold` was called) until `release()`; `held` counts them. */
  async function heldAcks(overrides: Partial<Parameters<typeof targetConfig>[1]> = {}) {
    const { MemoryStateStore } = await import("../helpers/memory-store.js");
    class HeldAcks extends MemoryStateStore {
      held = 0;
      private gate: Promise<void> = Promise.resolve();
      private open: () => void = () => undefined;
      hold(): void {
        this.gate = new Promise((resolve) => (this.open = resolve));
      }
      release(): void {
        this.open();
      }
      override async ackDelivery(...args: Parameters<InstanceType<typeof MemoryStateStore>["ackDelivery"]>): Promise<void> {
        this.held += 1;
        await this.gate;
        this.held -= 1;
        return super.ackDelivery(...args);
      }
    }
    const rx = await startReceiver();
    let store: InstanceType<typeof HeldAcks> | undefined;
    const h = await harness(async (clock) => (store = new HeldAcks(clock)), [targetConfig(rx.url, overrides)]);
    store!.hold();
    return {
      h,
      rx,
      store: store!,
      close: async () => {
        store!.release();
        await h.close();
        await rx.close();
      },
    };
  }

  it("a delivered send frees its slot before its ack is stored; the record's next delivery waits for the ack", async () => {
    const { h, rx, store, close } = await heldAcks({ concurrency: 1 });
    try {
      await h.enqueue([
        { event: makeEvent("a1", "1"), recordId: "1" },
        { event: makeEvent("a2", "1"), recordId: "1" },
        { event: makeEvent("b1", "2"), recordId: "2" },
      ]);
      await h.dispatcher.start();
      // One send at a time; a1's ack is held, yet b1 (another record) goes; a2 waits for a1's ack.
      await rx.waitFor(2);
      await waitUntil(() => store.held === 2, 5000, "both acks waiting");
      await pause(100);
      expect(rx.requests.map((r) => idOf(r.body))).toEqual(["a1", "b1"]);
      expect(rx.maxInProgress).toBe(1);
      expect((await h.store.listPending()).map((d) => d.eventId).sort()).toEqual(["a1", "a2", "b1"]);
      store.release();
      await rx.waitFor(3);
      await waitUntil(async () => (await h.store.listPending()).length === 0, 5000, "all acked");
      expect(rx.requests.map((r) => idOf(r.body))).toEqual(["a1", "b1", "a2"]);
      expect((await h.store.listLog({ target: "erp" })).map((l) => l.eventId).sort()).toEqual(["a1", "a2", "b1"]);
    } finally {
      await close();
    }
  });

  it("holds at most 64 sends plus acks not stored yet per target", async () => {
    const { h, rx, store, close } = await heldAcks({ concurrency: 2 });
    try {
      await h.enqueue(Array.from({ length: 80 }, (_, i) => ({ event: makeEvent(`e${i}`, String(i)), recordId: String(i) })));
      await h.dispatcher.start();
      await rx.waitFor(64);
      await pause(200);
      expect(rx.requests).toHaveLength(64);
      expect(store.held).toBe(64);
      store.release();
      await waitUntil(async () => (await h.store.listPending()).length === 0, 10_000, "all acked");
      expect(rx.requests).toHaveLength(80);
    } finally {
      await close();
    }
  });

  it("stop() waits for acks being stored: nothing delivered stays pending", async () => {
    const { h, store, close } = await heldAcks();
    try {
      await h.enqueue([{ event: makeEvent("s1", "1"), recordId: "1" }]);
      await h.dispatcher.start();
      await waitUntil(() => store.held === 1, 5000, "ack waiting");
      const stopped = h.dispatcher.stop(5_000);
      await pause(50);
      store.release();
      await stopped;
      expect(await h.store.listPending()).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe("Dispatcher: events read ahead, several heads per read (memory store)", () => {
  /** A memory store that counts the dispatcher's event reads. */
  async function countingStore() {
    const { MemoryStateStore } = await import("../helpers/memory-store.js");
    return class CountingReads extends MemoryStateStore {
      batches: string[][] = [];
      singles = 0;
      override async getEvents(...args: Parameters<InstanceType<typeof MemoryStateStore>["getEvents"]>) {
        this.batches.push([...args[0]]);
        return super.getEvents(...args);
      }
      override async getEvent(...args: Parameters<InstanceType<typeof MemoryStateStore>["getEvent"]>) {
        this.singles += 1;
        return super.getEvent(...args);
      }
    };
  }

  it("reads the events of the next heads due in one read; per-record order holds and every event goes once", async () => {
    const Store = await countingStore();
    const rx = await startReceiver();
    let store: InstanceType<typeof Store> | undefined;
    const h = await harness(async (clock) => (store = new Store(clock)), [targetConfig(rx.url, { concurrency: 4 })]);
    try {
      // 30 records with three events each, enqueued record by record: a record's next event is a head only once the one before is acked.
      const events = Array.from({ length: 30 }, (_, r) => [0, 1, 2].map((k) => ({ event: makeEvent(`r${r}-${k}`, String(r)), recordId: String(r) }))).flat();
      await h.enqueue(events);
      await h.dispatcher.start();
      await rx.waitFor(90);
      await waitUntil(async () => (await h.store.listPending()).length === 0, 10_000, "all acked");
      const ids = rx.requests.map((r) => idOf(r.body));
      expect(ids).toHaveLength(90);
      expect(new Set(ids).size).toBe(90);
      for (let r = 0; r < 30; r++) expect(ids.filter((id) => id.startsWith(`r${r}-`))).toEqual([`r${r}-0`, `r${r}-1`, `r${r}-2`]);
      // The 30 records' first events, heads together at the start, came in one or two reads (the
      // first attempt's read takes the next 31 heads); each event was read once.
      expect(store!.singles).toBe(0);
      expect(store!.batches.filter((ids) => ids.some((id) => id.endsWith("-0"))).length).toBeLessThanOrEqual(2);
      expect(store!.batches.flat().sort()).toEqual(events.map((e) => e.event.envelope.id).sort());
    } finally {
      await h.close();
      await rx.close();
    }
  });

  it("a failed read fails every attempt waiting on it, loudly; they stay pending and go later, none lost", async () => {
    const { MemoryStateStore } = await import("../helpers/memory-store.js");
    const rx = await startReceiver();
    const h = await harness(async (clock) => new MemoryStateStore(clock), [targetConfig(rx.url, { concurrency: 4 })]);
    try {
      (h.store as InstanceType<typeof MemoryStateStore>).failNext("getEvents");
      await h.enqueue(Array.from({ length: 8 }, (_, i) => ({ event: makeEvent(`g${i}`, String(i)), recordId: String(i) })));
      await h.dispatcher.start();
      await waitUntil(() => h.log.lines.some((l) => l.level === "error"), 5000, "error logged");
      const errors = h.log.lines.filter((l) => l.level === "error");
      expect(errors.every((l) => l.msg.includes("reading the event") && String(l.err).includes("injected getEvents failure"))).toBe(true);
      // The four attempts that waited on the failed read stay pending; the read after it serves the other four.
      await rx.waitFor(4);
      await pause(100);
      expect(errors).toHaveLength(4);
      expect(rx.requests).toHaveLength(4);
      expect((await h.store.listPending()).map((d) => d.eventId).sort()).toEqual(errors.map((l) => String(l.eventId)).sort());
      h.clock.advance(5 * S);
      await rx.waitFor(8);
      await waitUntil(async () => (await h.store.listPending()).length === 0, 5000, "all acked");
      expect(new Set(rx.requests.map((r) => idOf(r.body)))).toEqual(new Set(Array.from({ length: 8 }, (_, i) => `g${i}`)));
      expect(await h.store.listDeadLetters()).toEqual([]);
    } finally {
      await h.close();
      await rx.close();
    }
  });
});
