import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import amqp from "amqplib";
import { connect as natsConnect } from "nats";
import { createClient } from "redis";
import type { PassOutcome } from "../../src/pipeline/poll-pass.js";
import type { TargetConfig } from "../../src/config/types.js";
import { brokerInstalled, STARTERS, type Broker, type BrokerKind } from "../../test/helpers/brokers.js";
import { verifySignature } from "../../test/helpers/receiver.js";
import { BENCH_SECRET, benchConfig, benchSource, benchTarget, TARGET_CONCURRENCY } from "../config.js";
import type { Bench } from "../context.js";
import { deliverRow, round } from "../report.js";

/**
 * deliver-10k per broker: the events queued once by a backfill pass (one `created` per record),
 * then delivered by the dispatcher to NATS JetStream, RabbitMQ and Redis Streams — signed, acked
 * by the broker (JetStream ack, publisher confirm, XADD reply) and in state. Floor: the same
 * bodies under the same ids published by the bare client (`nats`, `amqplib`, `redis`) with the
 * same acks and the same number in flight, no signing, no state. Each broker is a private
 * instance started in a temp folder on free ports, as the tests start them; a broker whose
 * binary is missing is left out with a line saying so.
 */

export const BROKER_KINDS: readonly BrokerKind[] = ["nats", "amqp", "redis-stream"];

/** One published message as the broker holds it: the event id and, for signature checks, headers and body. */
interface Held {
  id: string;
  headers: Record<string, string>;
  body: string;
}

/** A broker prepared for the bench: where the target publishes, how to empty it, and what it holds. */
interface Destination {
  /** The target's keys besides `url` (`subject`, `exchange`…), and the floor's names. */
  fields: Record<string, unknown>;
  floor: { kind: BrokerKind; url: string; subject?: string; exchange?: string; routingKey?: string; stream?: string };
  /** Empties what the last run published. */
  empty(): Promise<void>;
  /** The number of messages held; with `sample`, the first `sample` of them. */
  held(sample: number): Promise<{ count: number; sample: Held[] }>;
  close(): Promise<void>;
}

const SUBJECT = "bench.deliver";
const STREAM = "BENCH";

async function prepare(kind: BrokerKind, broker: Broker): Promise<Destination> {
  if (kind === "nats") {
    const nc = await natsConnect({ servers: `127.0.0.1:${broker.port}` });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: STREAM, subjects: ["bench.>"] });
    return {
      fields: { subject: SUBJECT },
      floor: { kind, url: broker.url, subject: SUBJECT },
      // A new stream: a purged one still knows the ids of its duplicate window, and would ack the next run's messages as duplicates.
      async empty() {
        await jsm.streams.delete(STREAM);
        await jsm.streams.add({ name: STREAM, subjects: ["bench.>"] });
      },
      async held(sample) {
        const info = await jsm.streams.info(STREAM);
        const out: Held[] = [];
        for (let seq = info.state.first_seq; out.length < Math.min(sample, info.state.messages); seq++) {
          const message = await jsm.streams.getMessage(STREAM, { seq });
          const headers: Record<string, string> = {};
          for (const key of message.header.keys()) headers[key.toLowerCase()] = message.header.get(key);
          out.push({ id: headers["nats-msg-id"] ?? "", headers, body: new TextDecoder().decode(message.data) });
        }
        return { count: info.state.messages, sample: out };
      },
      close: () => nc.close(),
    };
  }
  if (kind === "amqp") {
    const model = await amqp.connect(broker.url);
    const channel = await model.createChannel();
    await channel.assertExchange("bench", "topic", { durable: true });
    await channel.assertQueue("bench-all", { durable: true });
    await channel.bindQueue("bench-all", "bench", "#");
    return {
      fields: { exchange: "bench", routing_key: "{type}" },
      floor: { kind, url: broker.url, exchange: "bench", routingKey: "invoice.created" },
      empty: async () => void (await channel.purgeQueue("bench-all")),
      async held(sample) {
        const { messageCount } = await channel.checkQueue("bench-all");
        const out: Held[] = [];
        for (let i = 0; i < sample; i++) {
          const message = await channel.get("bench-all", { noAck: false });
          if (!message) break;
          const headers: Record<string, string> = {};
          for (const [key, value] of Object.entries(message.properties.headers ?? {})) headers[key.toLowerCase()] = String(value);
          out.push({ id: String(message.properties.messageId), headers, body: message.content.toString("utf8") });
        }
        // Back to the queue unread; `empty` purges it.
        channel.nackAll(true);
        return { count: messageCount, sample: out };
      },
      close: () => model.close(),
    };
  }
  const client = createClient({ url: broker.url });
  client.on("error", () => undefined);
  await client.connect();
  const key = "bench:deliver";
  return {
    fields: { stream: key },
    floor: { kind, url: broker.url, stream: key },
    empty: async () => void (await client.del(key)),
    async held(sample) {
      const count = await client.xLen(key);
      const entries = sample > 0 ? await client.xRange(key, "-", "+", { COUNT: sample }) : [];
      return {
        count,
        sample: (entries ?? []).map((entry) => {
          const { id, body, ...headers } = entry.message as Record<string, string>;
          return { id: id!, headers, body: body! };
        }),
      };
    },
    close: async () => void client.destroy(),
  };
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`harness check failed: ${message}`);
}

/** The bench target for a broker: the HTTP bench target's settings (secret, concurrency, timeout) with its type and keys. */
function brokerBenchTarget(kind: BrokerKind, url: string, fields: Record<string, unknown>): TargetConfig {
  return { ...benchTarget(url), name: "broker", type: kind, ...fields } as TargetConfig;
}

export async function brokersScenario(bench: Bench): Promise<void> {
  const { sizes, fake } = bench;
  const n = sizes.deliveries;
  const label = n >= 1000 ? `${n / 1000}k` : String(n);
  // BENCH_BROKERS=nats,redis-stream: only these (while working on one transport).
  const only = process.env.BENCH_BROKERS?.split(",").map((kind) => kind.trim());
  const kinds = BROKER_KINDS.filter((kind) => !only || only.includes(kind)).filter((kind) => {
    const installed = brokerInstalled(kind);
    if (!installed) bench.log(`deliver-${label} (${kind}): left out, its broker binary is not installed`);
    return installed;
  });
  if (kinds.length === 0) return;
  await fake.call("create", { name: "brk", count: n, pageSize: sizes.pageSize, newestAt: Date.now() - 86_400_000, spacingMs: 60_000 });
  const state = join(bench.dir, "brk.sqlite");
  const source = benchSource({ name: "brk", baseUrl: bench.apiUrl, dataset: "brk", cursor: "param", pageSize: sizes.pageSize, start: { mode: "backfill" } });
  // The outbox names the target only: queued once, delivered to each broker under the same name.
  const queueConfig = benchConfig(state, [source], [brokerBenchTarget("redis-stream", "redis://127.0.0.1:1/0", { stream: "unused" })]);
  bench.log(`deliver-${label} (brokers): queueing ${n} events`);
  const queued = await bench.job<{ outcomes: PassOutcome[]; pending: number }>("pass", { config: queueConfig, mode: "incremental" });
  check(queued.pending === n, `${queued.pending} deliveries queued, expected ${n}`);

  for (const kind of kinds) {
    bench.log(`deliver-${label} (${kind}): starting the broker`);
    const broker = await STARTERS[kind]();
    let destination: Destination | undefined;
    try {
      destination = await prepare(kind, broker);
      const config = { ...queueConfig, targets: [brokerBenchTarget(kind, broker.url, destination.fields)] };
      const floors: Array<{ ms: number; cpuMs: number; count: number }> = [];
      const runs: Array<{ ms: number; cpuMs: number; expected: number; left: number; dead: number; maxRssMb: number }> = [];
      let verified = 0;
      for (let rep = 1; rep <= sizes.repetitions; rep += 1) {
        bench.log(`deliver-${label} (${kind}) (${rep}/${sizes.repetitions}): floor, then retrohook`);
        await destination.empty();
        const floor = await bench.job<{ ms: number; cpuMs: number; count: number }>("floorPublish", { stateUrl: config.state.url, ...destination.floor, concurrency: TARGET_CONCURRENCY });
        const floorHeld = await destination.held(0);
        check(floor.count === n && floorHeld.count === n, `${kind} floor published ${floor.count}, the broker holds ${floorHeld.count}`);
        floors.push(floor);

        await destination.empty();
        const copy = join(bench.dir, `brk-${kind}-${rep}.sqlite`);
        copyFileSync(state, copy);
        if (existsSync(`${state}-wal`)) copyFileSync(`${state}-wal`, `${copy}-wal`);
        const run = await bench.job<{ ms: number; cpuMs: number; expected: number; left: number; dead: number; maxRssMb: number }>("deliver", { config: { ...config, state: { url: `sqlite://${copy}` } } });
        const held = await destination.held(50);
        check(run.expected === n && run.left === 0 && run.dead === 0, `${kind} dispatcher: ${run.expected} pending at start, ${run.left} left, ${run.dead} dead`);
        check(held.count === n, `${kind}: the broker holds ${held.count} of ${n}`);
        for (const message of held.sample) {
          check(message.headers["webhook-id"] === message.id, `${kind}: message id ${message.id} is not its webhook-id ${message.headers["webhook-id"]}`);
          verifySignature({ method: "POST", path: "/", headers: message.headers, body: message.body, at: Date.now() }, BENCH_SECRET);
          verified += 1;
        }
        runs.push(run);
        for (const suffix of ["", "-wal", "-shm", ".lock"]) rmSync(`${copy}${suffix}`, { force: true });
      }
      bench.rows.push(
        deliverRow(
          `deliver-${label} (${kind})`,
          n,
          runs,
          floors,
          (run, rates) =>
            `${n} events to a private ${kind} broker, ${TARGET_CONCURRENCY} in flight, signed, ${ACKS[kind]}, acked in state; floor: the bare ${CLIENTS[kind]} client, same ids and acks; best of ${sizes.repetitions} (${rates.runs} ev/s; floor ${rates.floors} ev/s); peak RSS ${round(run.maxRssMb, 0)} MB; ${verified} signatures verified as held by the broker`,
        ),
      );
    } finally {
      await destination?.close().catch(() => undefined);
      await broker.stop();
    }
  }
}

const ACKS: Record<BrokerKind, string> = { nats: "JetStream ack", amqp: "publisher confirm", "redis-stream": "XADD reply" };
const CLIENTS: Record<BrokerKind, string> = { nats: "nats", amqp: "amqplib", "redis-stream": "redis" };
