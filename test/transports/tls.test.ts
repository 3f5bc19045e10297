import { rmSync } from "node:fs";
import amqp from "amqplib";
import { connect as natsConnect } from "nats";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config, TargetConfig } from "../../src/config/types.js";
import { sendTestEvent } from "../../src/server/actions.js";
import { harness, makeEvent, STORES, waitUntil, type Harness } from "../delivery/harness.js";
import { brokerInstalled, makeCertificates, startNats, startRabbit, startRedis, type Broker, type BrokerKind, type TestCertificates } from "../helpers/brokers.js";
import { brokerTarget } from "./contract.js";

/**
 * Broker URLs with TLS (`tls://` for NATS, `amqps://`, `rediss://`) against real brokers serving
 * a certificate from a private CA made for the test: with `tls.ca` the handshake verifies and
 * messages are delivered; without it the handshake fails, and `test-target` and the delivery
 * log say it is TLS (the certificate) and how to trust the CA — retried, never a dead letter.
 */

const [, sqlite] = STORES.find(([name]) => name === "sqlite")!;

interface TlsBroker {
  kind: BrokerKind;
  /** The TLS URL with credentials, and the target's destination keys. */
  url: string;
  fields: Record<string, unknown>;
  /** Messages the target delivered, as the broker holds them (event ids). */
  received(): Promise<string[]>;
  stop(): Promise<void>;
}

async function natsTls(certs: TestCertificates): Promise<TlsBroker> {
  const broker = await startNats({ user: "retrohook", pass: "tls-Pass-1" }, certs);
  const admin = await natsConnect({ servers: `127.0.0.1:${broker.port}`, user: "retrohook", pass: "tls-Pass-1", tls: { ca: certs.caPem } });
  const jsm = await admin.jetstreamManager();
  await jsm.streams.add({ name: "TLS", subjects: ["tls.>"] });
  return {
    kind: "nats",
    url: broker.url,
    fields: { subject: "tls.{type}" },
    async received() {
      const info = await jsm.streams.info("TLS");
      const ids: string[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) ids.push((await jsm.streams.getMessage("TLS", { seq })).header.get("Nats-Msg-Id"));
      return ids;
    },
    async stop() {
      await admin.close();
      await broker.stop();
    },
  };
}

async function redisTls(certs: TestCertificates): Promise<TlsBroker> {
  const broker = await startRedis("tls-Pass-2", certs);
  const client = createClient({ url: broker.url, socket: { tls: true, ca: certs.caPem } });
  client.on("error", () => undefined);
  await client.connect();
  return {
    kind: "redis-stream",
    url: broker.url,
    fields: { stream: "tls:{source}" },
    async received() {
      return ((await client.xRange("tls:fakturownia", "-", "+")) ?? []).map((entry) => (entry.message as Record<string, string>).id!);
    },
    async stop() {
      client.destroy();
      await broker.stop();
    },
  };
}

async function amqpTls(certs: TestCertificates): Promise<TlsBroker> {
  const broker: Broker & { tlsUrl?: string } = await startRabbit(certs);
  const model = await amqp.connect(broker.tlsUrl!, { ca: [Buffer.from(certs.caPem)] });
  const channel = await model.createChannel();
  await channel.assertExchange("tls", "topic", { durable: true });
  await channel.assertQueue("tls-all", { durable: true });
  await channel.bindQueue("tls-all", "tls", "#");
  return {
    kind: "amqp",
    url: broker.tlsUrl!,
    fields: { exchange: "tls", routing_key: "{type}" },
    async received() {
      const ids: string[] = [];
      for (;;) {
        const message = await channel.get("tls-all", { noAck: true });
        if (!message) return ids;
        if (message.fields.routingKey !== "retrohook.test") ids.push(String(message.properties.messageId));
      }
    },
    async stop() {
      await model.close();
      await broker.stop();
    },
  };
}

const STARTS: Record<BrokerKind, (certs: TestCertificates) => Promise<TlsBroker>> = { nats: natsTls, "redis-stream": redisTls, amqp: amqpTls };

for (const [kind, scheme] of [
  ["nats", "tls"],
  ["amqp", "amqps"],
  ["redis-stream", "rediss"],
] as const) {
  describe.runIf(brokerInstalled(kind))(`${kind} over TLS (${scheme}://)`, () => {
    let certs: TestCertificates;
    let broker: TlsBroker;
    let h: Harness | undefined;
    const config = (targets: TargetConfig[]): Config => ({ targets }) as unknown as Config;

    beforeAll(async () => {
      certs = makeCertificates();
      broker = await STARTS[kind](certs);
      expect(broker.url.startsWith(`${scheme}://`)).toBe(true);
    }, 180_000);
    afterAll(async () => {
      await h?.close();
      await broker?.stop();
      rmSync(certs.dir, { recursive: true, force: true });
    });

    it("with tls.ca (PEM text or a file) the handshake verifies: test-target and deliveries go through", async () => {
      const pem = brokerTarget(kind, broker.url, { ...broker.fields, tls: { ca: certs.caPem } }, "pem");
      const file = brokerTarget(kind, broker.url, { ...broker.fields, tls: { ca: certs.caFile } }, "file");
      h = await harness(sqlite, [pem, file]);
      const run = h;
      for (const target of ["pem", "file"]) {
        const test = await sendTestEvent(run.dispatcher, config([pem, file]), target, Date.now());
        expect(test, test.verdict).toMatchObject({ ok: true });
      }
      await run.enqueue([{ event: makeEvent(`evt_tls_${scheme}`, "1"), recordId: "1", targets: ["pem"] }]);
      await run.dispatcher.start();
      await waitUntil(async () => (await run.store.listPending()).length === 0, 20_000, "delivered over TLS");
      expect((await run.store.listLog({})).map((entry) => entry.outcome)).toEqual(["delivered"]);
      expect(await broker.received()).toContain(`evt_tls_${scheme}`);
    }, 60_000);

    it("without the CA the handshake fails: a clear TLS error in test-target and the delivery log, retried", async () => {
      const target = brokerTarget(kind, broker.url, broker.fields, "untrusted");
      await h?.close();
      h = await harness(sqlite, [target]);
      const run = h;
      const test = await sendTestEvent(run.dispatcher, config([target]), "untrusted", Date.now());
      expect(test.ok).toBe(false);
      if (process.env.CONTRACT_DEBUG) console.log(kind, "untrusted:", test.verdict);
      expect(test.verdict).toMatch(/TLS handshake failed: .*certificate/i);
      expect(test.verdict).toContain("tls.ca");
      expect(test.verdict).not.toContain("tls-Pass");
      await run.enqueue([{ event: makeEvent("evt_untrusted", "2"), recordId: "2" }]);
      await run.dispatcher.start();
      await waitUntil(async () => (await run.store.listLog({})).length === 1, 20_000, "an attempt");
      const [entry] = await run.store.listLog({});
      expect(entry).toMatchObject({ outcome: "retry", eventId: "evt_untrusted" });
      expect(entry!.error).toMatch(/TLS handshake failed: .*certificate/i);
      expect(await run.store.listDeadLetters()).toHaveLength(0);
      expect(run.dispatcher.status()[0]!.connection).toMatchObject({ state: "down" });
      // `status` shows the same advice as the delivery log, not the bare client message.
      expect(run.dispatcher.status()[0]!.connection!.lastError).toMatch(/^TLS handshake failed: .*certificate.*trust the broker's CA with tls\.ca/i);
    }, 60_000);

    it.runIf(kind === "nats")("nats:// with tls.ca also speaks TLS (the client upgrades the connection)", async () => {
      const target = brokerTarget(kind, broker.url.replace("tls://", "nats://"), { ...broker.fields, tls: { ca: certs.caPem } }, "plain");
      await h?.close();
      h = await harness(sqlite, [target]);
      const test = await sendTestEvent(h.dispatcher, config([target]), "plain", Date.now());
      expect(test, test.verdict).toMatchObject({ ok: true });
    }, 60_000);
  });
}
