import { createClient } from "redis";
import { describe } from "vitest";
import { brokerInstalled, closedPortUrl, startRedis, type Broker } from "../helpers/brokers.js";
import { brokerTarget, targetContract, type Kit, type Received } from "./contract.js";

const PASSWORD = "redis-Secret-Pass-42";

async function redisKit(): Promise<Kit> {
  const broker: Broker = await startRedis(PASSWORD);
  const client = async () => {
    const c = createClient({ url: broker.url });
    c.on("error", () => undefined);
    await c.connect();
    return c;
  };
  const setup = await client();
  // Keys that are not streams: XADD to them is refused for good (WRONGTYPE).
  await setup.set("taken:fakturownia", "not a stream");
  await setup.set("taken:retrohook", "not a stream");
  setup.destroy();
  const closed = await closedPortUrl(broker.url);
  return {
    password: PASSWORD,
    downTarget: (name) => brokerTarget("redis-stream", closed, { stream: "retrohook:{source}", maxlen: 100_000 }, name),
    target: (name) => brokerTarget("redis-stream", broker.url, { stream: "retrohook:{source}", maxlen: 100_000 }, name),
    deadTarget: (name) => brokerTarget("redis-stream", broker.url, { stream: "taken:{source}" }, name),
    async received() {
      const c = await client();
      try {
        const entries = await c.xRange("retrohook:fakturownia", "-", "+");
        return (entries ?? []).map((entry): Received => {
          const { id, body, ...headers } = entry.message as Record<string, string>;
          return { id: id!, headers, body: body! };
        });
      } finally {
        c.destroy();
      }
    },
    breakIt: () => broker.kill(),
    heal: () => broker.start(),
    close: () => broker.stop(),
  };
}

describe.runIf(brokerInstalled("redis-stream"))("redis-stream", () => targetContract("redis-stream", redisKit));
