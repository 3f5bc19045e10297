import amqp from "amqplib";
import { afterAll, describe, expect, it } from "vitest";
import { RECOVERY_MS } from "../../src/transports/amqp/index.js";
import { harness, makeEvent, STORES, waitUntil, type Harness } from "../delivery/harness.js";
import { brokerInstalled, closedPortUrl, startRabbit, type Broker } from "../helpers/brokers.js";
import { sharedForFile } from "../helpers/closing.js";
import { brokerTarget, expectRetriedWithReason, nonePending, targetContract, waitAdvancing, type Kit, type Received } from "./contract.js";

async function amqpKit(broker: Broker): Promise<Kit> {
  // The operator's topology, all durable. RabbitMQ writes definitions through a log it flushes
  // every few seconds, so a SIGKILL soon after declaring can lose them (a lost binding made the
  // restart case's message unroutable): declared again after each restart, as provisioning would.
  const declare = async (): Promise<void> => {
    const model = await amqp.connect(broker.url);
    const channel = await model.createChannel();
    await channel.assertExchange("retrohook", "topic", { durable: true });
    await channel.assertExchange("retrohook-unbound", "topic", { durable: true });
    await channel.assertQueue("everything", { durable: true });
    await channel.bindQueue("everything", "retrohook", "#");
    await model.close();
  };
  await declare();
  // Everything read so far: a get removes a message from the queue.
  const seen: Received[] = [];
  const closed = await closedPortUrl(broker.url);
  return {
    password: "secret-pass",
    downTarget: (name) => brokerTarget("amqp", closed, { exchange: "retrohook", routing_key: "{type}" }, name),
    target: (name) => brokerTarget("amqp", broker.url, { exchange: "retrohook", routing_key: "{type}" }, name),
    // An exchange no queue is bound to: every message comes back (mandatory), a dead letter.
    deadTarget: (name) => brokerTarget("amqp", broker.url, { exchange: "retrohook-unbound", routing_key: "{type}" }, name),
    async received() {
      const reader = await amqp.connect(broker.url);
      try {
        const ch = await reader.createChannel();
        for (;;) {
          const message = await ch.get("everything", { noAck: true });
          if (!message) break;
          const headers: Record<string, string> = {};
          for (const [key, value] of Object.entries(message.properties.headers ?? {})) headers[key.toLowerCase()] = String(value);
          if (message.fields.routingKey === "retrohook.test") continue;
          seen.push({ id: String(message.properties.messageId), headers, body: message.content.toString("utf8") });
        }
      } finally {
        await reader.close();
      }
      return [...seen];
    },
    breakIt: () => broker.kill(),
    async heal() {
      await broker.start();
      await waitUntil(async () => amqp.connect(broker.url).then((m) => m.close().then(() => true), () => false), 60_000, "the broker back");
      await declare();
    },
    close: async () => undefined, // the file's broker is stopped after the last test
  };
}

const [, sqlite] = STORES.find(([name]) => name === "sqlite")!;
const S = 1000;

async function withChannel<T>(url: string, work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const model = await amqp.connect(url);
  try {
    return await work(await model.createChannel());
  } finally {
    await model.close();
  }
}

/** Message ids in `queue` (read and removed). */
async function drain(url: string, queue: string): Promise<string[]> {
  return withChannel(url, async (channel) => {
    const ids: string[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (!message) return ids;
      ids.push(String(message.properties.messageId));
    }
  });
}

/**
 * The target contract over RabbitMQ, then what it answers besides "confirmed": one broker for
 * the file (a RabbitMQ start is most of the time of a test file of its own).
 */
describe.runIf(brokerInstalled("amqp"))("amqp", () => {
  const broker = sharedForFile(() => startRabbit(), (rabbit) => rabbit.stop(), 180_000);
  targetContract("amqp", () => amqpKit(broker()));

  /**
   * What RabbitMQ answers besides "confirmed": an exchange that does not exist (the operator's to
   * declare: retried with a reason that names it, never lost), and a message returned as
   * unroutable right after a broker restart (queues and bindings may still be coming back:
   * retried), as opposed to one that stays unroutable (a dead letter with the reason).
   */
  describe("what the broker answers", () => {
    let h: Harness | undefined;
    afterAll(async () => {
      await h?.close();
    });

    it("a missing exchange is a clear error in test-target and in the delivery log, retried until the exchange exists, never lost", async () => {
      const target = brokerTarget("amqp", broker().url, { exchange: "not-declared-yet", routing_key: "{type}" });
      h = await harness(sqlite, [target]);
      const run = h;
      await expectRetriedWithReason(run, target, "evt_noexchange", { verdict: [`no exchange "not-declared-yet"`, "declare it"], error: `no exchange "not-declared-yet"` }, 20_000);

      // The operator declares it (and a queue): the waiting event goes.
      await withChannel(broker().url, async (channel) => {
        await channel.assertExchange("not-declared-yet", "topic", { durable: true });
        await channel.assertQueue("late-exchange", { durable: true });
        await channel.bindQueue("late-exchange", "not-declared-yet", "#");
      });
      await waitAdvancing(run, 5 * S, nonePending(run), 30_000, "delivered once the exchange exists");
      expect((await run.store.listLog({})).map((e) => e.outcome)).toContain("delivered");
      expect(await drain(broker().url, "late-exchange")).toEqual(["evt_noexchange"]);
    }, 60_000);

    it("a message returned right after a broker restart is retried (the consumer binds its queue again), one still unroutable long after is a dead letter", async () => {
      // A consumer's queue that does not survive a restart (not durable): it declares it again when it reconnects.
      const bind = () =>
        withChannel(broker().url, async (channel) => {
          await channel.assertExchange("restarts", "topic", { durable: true });
          await channel.assertQueue("consumer", { durable: false });
          await channel.bindQueue("consumer", "restarts", "invoice.#");
        });
      await bind();
      const target = brokerTarget("amqp", broker().url, { exchange: "restarts", routing_key: "{type}" });
      await h?.close();
      h = await harness(sqlite, [target]);
      const run = h;
      await run.enqueue([{ event: makeEvent("evt_before", "1", { type: "invoice.created" }), recordId: "1" }]);
      await run.dispatcher.start();
      await waitUntil(async () => (await run.store.listPending()).length === 0, 20_000, "delivered before the restart");
      expect(run.dispatcher.status()[0]!.connection?.state).toBe("connected");

      await broker().kill();
      await waitUntil(() => run.dispatcher.status()[0]!.connection?.state !== "connected", 20_000, "the connection loss noticed");
      await broker().start();
      await waitUntil(async () => amqp.connect(broker().url).then((m) => m.close().then(() => true), () => false), 60_000, "the broker back");
      // The operator's durable exchange. RabbitMQ writes its definitions through a log it flushes
      // every few seconds: a SIGKILL right after a declare can lose it (seen here), so declare again.
      await withChannel(broker().url, (channel) => channel.assertExchange("restarts", "topic", { durable: true }));

      // Right after the reconnect nothing is bound yet: both come back unroutable.
      await run.enqueue([
        { event: makeEvent("evt_after", "2", { type: "invoice.updated" }), recordId: "2" },
        { event: makeEvent("evt_orphan", "3", { type: "orphan.updated" }), recordId: "3" },
      ]);
      // Time passes slowly (20 times real time), for a first attempt that met the broker still starting.
      await waitAdvancing(run, S, async () => new Set((await run.store.listLog({})).filter((e) => /unroutable/.test(e.error ?? "")).map((e) => e.eventId)).size === 2, 30_000, "both returned", 50).catch(async (error: unknown) => {
        throw new Error(`${String(error)}: ${JSON.stringify(await run.store.listLog({}))} ${JSON.stringify(run.dispatcher.status())}`);
      });
      expect(await run.store.listDeadLetters()).toEqual([]);
      const returned = (await run.store.listLog({})).filter((e) => /unroutable/.test(e.error ?? ""));
      for (const entry of returned) {
        expect(entry.outcome).toBe("retry");
        expect(entry.error).toMatch(/unroutable right after a reconnect .*has no queue bound for routing key/);
      }

      // The consumer is back and binds `invoice.#` again: the retry delivers evt_after.
      await bind();
      await waitAdvancing(run, 5 * S, async () => (await run.store.listLog({})).some((e) => e.eventId === "evt_after" && e.outcome === "delivered"), 30_000, "evt_after delivered");
      // evt_before went with the old queue (not durable); evt_after is in the new one.
      expect(await drain(broker().url, "consumer")).toEqual(["evt_after"]);

      // Nothing ever takes `orphan.updated`: once the reconnect is long past, it is a dead letter with the reason.
      await waitAdvancing(run, 5 * 60 * S, async () => (await run.store.listDeadLetters()).length === 1, 30_000, "evt_orphan dead-lettered");
      const [dead] = await run.store.listDeadLetters();
      expect(dead).toMatchObject({ eventId: "evt_orphan" });
      expect(dead!.attempts).toBeGreaterThan(1);
      expect(dead!.reason).toMatch(/^unroutable: exchange "restarts" has no queue bound for routing key "orphan.updated"/);
      const orphanLog = (await run.store.listLog({})).filter((e) => e.eventId === "evt_orphan").sort((a, b) => a.attempt - b.attempt);
      expect(orphanLog.at(-1)).toMatchObject({ outcome: "dead" });
      expect(Date.parse(orphanLog.at(-1)!.at) - Date.parse(orphanLog[0]!.at)).toBeGreaterThanOrEqual(RECOVERY_MS - 10 * S);
      expect(await run.store.listPending()).toHaveLength(0);
    }, 150_000);
  });
});
