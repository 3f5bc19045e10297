import { connect, type NatsConnection } from "nats";
import { describe, it } from "vitest";
import { brokerInstalled, closedPortUrl, startNats, type Broker } from "../helpers/brokers.js";
import { brokerTarget, expectRetriedWithReason, targetContract, type Kit, type Received } from "./contract.js";

const PASSWORD = "nats-Secret-Pass-42";

async function natsKit(): Promise<Kit> {
  const broker: Broker = await startNats({ user: "retrohook", pass: PASSWORD });
  let nc: NatsConnection | undefined;
  const admin = async (): Promise<NatsConnection> => {
    nc ??= await connect({ servers: `127.0.0.1:${broker.port}`, user: "retrohook", pass: PASSWORD });
    return nc;
  };
  const jsm = await (await admin()).jetstreamManager();
  await jsm.streams.add({ name: "RETROHOOK", subjects: ["retrohook.>"] });
  const closed = await closedPortUrl(broker.url);
  return {
    password: PASSWORD,
    downTarget: (name) => brokerTarget("nats", closed, { subject: "retrohook.{source}.{type}" }, name),
    target: (name) => brokerTarget("nats", broker.url, { subject: "retrohook.{source}.{type}" }, name),
    // No stream takes `elsewhere.…`, and `{kind}` is empty for these events: an empty token, a dead letter.
    deadTarget: (name) => brokerTarget("nats", broker.url, { subject: "retrohook.{kind}.x" }, name),
    async received() {
      const manager = await (await admin()).jetstreamManager();
      const info = await manager.streams.info("RETROHOOK");
      const out: Received[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const message = await manager.streams.getMessage("RETROHOOK", { seq }).catch(() => undefined);
        if (!message || !message.subject.startsWith("retrohook.fakturownia.")) continue;
        const headers: Record<string, string> = {};
        for (const key of message.header.keys()) headers[key.toLowerCase()] = message.header.get(key);
        out.push({ id: headers["nats-msg-id"] ?? "", headers, body: new TextDecoder().decode(message.data) });
      }
      return out;
    },
    async breakIt() {
      await nc?.close();
      nc = undefined;
      await broker.kill();
    },
    async heal() {
      await broker.start();
    },
    async close() {
      await nc?.close();
      await broker.stop();
    },
  };
}

describe.runIf(brokerInstalled("nats"))("nats", () => targetContract("nats", natsKit));

describe.runIf(brokerInstalled("nats"))("nats: a subject no stream takes", () => {
  it("is a clear error in test-target and in the delivery log, retried, never a silent loss", async () => {
    const broker = await startNats();
    const { harness, STORES } = await import("../delivery/harness.js");
    const target = brokerTarget("nats", broker.url, { subject: "elsewhere.{type}" });
    const h = await harness(STORES[1]![1], [target]);
    try {
      await expectRetriedWithReason(h, target, "evt_nostream", { verdict: ['no JetStream stream takes subject "elsewhere.retrohook.test"'], error: "no JetStream stream takes subject" }, 10_000);
    } finally {
      await h.close();
      await broker.stop();
    }
  }, 30_000);
});
