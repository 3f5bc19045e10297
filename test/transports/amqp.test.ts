import amqp from "amqplib";
import { describe } from "vitest";
import { brokerInstalled, closedPortUrl, startRabbit, type Broker } from "../helpers/brokers.js";
import { waitUntil } from "../delivery/harness.js";
import { brokerTarget, targetContract, type Kit, type Received } from "./contract.js";

async function amqpKit(): Promise<Kit> {
  const broker: Broker = await startRabbit();
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
    close: () => broker.stop(),
  };
}

describe.runIf(brokerInstalled("amqp"))("amqp", () => targetContract("amqp", amqpKit));
