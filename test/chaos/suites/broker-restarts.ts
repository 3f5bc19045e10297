import amqp from "amqplib";
import { connect as natsConnect } from "nats";
import { createClient } from "redis";
import { ManualClock } from "../../../src/clock.js";
import type { TargetConfig } from "../../../src/config/types.js";
import { Dispatcher } from "../../../src/delivery/dispatcher.js";
import { openStateStore } from "../../../src/store/open.js";
import { captureLogger, makeEvent, recordKeyOf, START } from "../../delivery/harness.js";
import { brokerInstalled, STARTERS, type Broker, type BrokerKind } from "../../helpers/brokers.js";
import type { Logger, Row } from "../lib/report.js";

/**
 * Broker restarts: per broker, the broker is SIGKILLed and restarted `restarts` times while
 * `events` events (10 versions per record) flow through a dispatcher; then a consumer reads
 * everything the broker holds and counts lost events, duplicates under another id, and
 * per-record order violations (a version after a later one). The dispatcher's clock is a manual
 * one moved 5 minutes every 100 ms, so retries and breaker probes come quickly.
 */

export interface BrokerRestartResult {
  kind: BrokerKind;
  skipped?: string;
  events: number;
  restarts: number;
  received: number;
  lost: number;
  duplicatesSameId: number;
  duplicatesOtherId: number;
  orderViolations: number;
  seconds: number;
  /** Attempts that failed during the restarts and were retried (the restarts met traffic). */
  retried: number;
}

interface Message {
  id: string;
  headerId: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function prepare(kind: BrokerKind, broker: Broker): Promise<{ fields: Record<string, unknown>; read: () => Promise<Message[]> }> {
  const idOf = (body: string): string => (JSON.parse(body) as { id: string }).id;
  if (kind === "nats") {
    const nc = await natsConnect({ servers: `127.0.0.1:${broker.port}` });
    await (await nc.jetstreamManager()).streams.add({ name: "CHAOS", subjects: ["chaos.>"] });
    await nc.close();
    return {
      fields: { subject: "chaos.{source}.{type}" },
      async read() {
        const reader = await natsConnect({ servers: `127.0.0.1:${broker.port}` });
        const jsm = await reader.jetstreamManager();
        const info = await jsm.streams.info("CHAOS");
        const out: Message[] = [];
        for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
          const message = await jsm.streams.getMessage("CHAOS", { seq }).catch(() => undefined);
          if (message) out.push({ id: idOf(new TextDecoder().decode(message.data)), headerId: message.header.get("webhook-id") });
        }
        await reader.close();
        return out;
      },
    };
  }
  if (kind === "amqp") {
    const model = await amqp.connect(broker.url);
    const channel = await model.createChannel();
    await channel.assertExchange("chaos", "topic", { durable: true });
    await channel.assertQueue("chaos-all", { durable: true });
    await channel.bindQueue("chaos-all", "chaos", "#");
    await model.close();
    return {
      fields: { exchange: "chaos", routing_key: "{type}" },
      async read() {
        const reader = await amqp.connect(broker.url);
        const ch = await reader.createChannel();
        const out: Message[] = [];
        for (;;) {
          const message = await ch.get("chaos-all", { noAck: true });
          if (!message) break;
          out.push({ id: idOf(message.content.toString("utf8")), headerId: String(message.properties.messageId) });
        }
        await reader.close();
        return out;
      },
    };
  }
  return {
    fields: { stream: "chaos:{source}" },
    async read() {
      const client = createClient({ url: broker.url });
      client.on("error", () => undefined);
      await client.connect();
      const entries = (await client.xRange("chaos:fakturownia", "-", "+")) ?? [];
      client.destroy();
      return entries.map((entry) => {
        const fields = entry.message as Record<string, string>;
        return { id: idOf(fields.body!), headerId: fields.id! };
      });
    },
  };
}

export async function brokerRestarts(options: { kind: BrokerKind; events: number; restarts: number; log: Logger }): Promise<BrokerRestartResult> {
  const { kind, events, restarts, log } = options;
  const started = Date.now();
  const empty = { kind, events, restarts: 0, received: 0, lost: 0, duplicatesSameId: 0, duplicatesOtherId: 0, orderViolations: 0, seconds: 0, retried: 0 };
  if (!brokerInstalled(kind)) return { ...empty, skipped: `${kind} broker binary not installed` };
  const broker = await STARTERS[kind]();
  const clock = new ManualClock(START);
  const store = await openStateStore("sqlite::memory:", { clock });
  const { fields, read } = await prepare(kind, broker);
  const target = { name: "chaos", type: kind, url: broker.url, format: "standard", timeout: 3_000, headers: {}, retry: { max_age: 30 * 24 * 3_600_000 }, concurrency: 8, ...fields } as TargetConfig;
  let retried = 0;
  const dispatcher = new Dispatcher({ store, targets: [target], clock, logger: captureLogger().logger, onAttempt: (attempt) => (retried += attempt.outcome === "retry" ? 1 : 0) });
  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      await sleep(100);
      clock.advance(5 * 60_000);
    }
  })();
  let done = 0;
  try {
    await dispatcher.start();
    const versions = 10;
    const records = Math.ceil(events / versions);
    const batches = restarts + 1;
    const perBatch = Math.ceil(versions / batches);
    let version = 1;
    for (let batch = 0; batch < batches; batch++) {
      const list = [];
      for (let v = version; v < Math.min(versions + 1, version + perBatch); v++) {
        for (let record = 1; record <= records; record++) list.push({ event: makeEvent(`chaos_${record}_${v}`, String(record)), recordKey: recordKeyOf(String(record)), targets: ["chaos"] });
      }
      version += perBatch;
      dispatcher.enqueued(await store.enqueue(list));
      await sleep(300);
      if (batch < restarts) {
        await broker.kill();
        log(`${kind}: broker killed (${batch + 1}/${restarts})`);
        await sleep(500);
        await broker.start();
        done += 1;
      }
    }
    const deadline = Date.now() + 600_000;
    while ((await store.listPending()).length > 0) {
      if (Date.now() > deadline) throw new Error(`${kind}: deliveries still pending after 10 minutes`);
      await sleep(200);
    }
    const messages = await read();
    const expected = new Set<string>();
    for (let record = 1; record <= Math.ceil(events / 10); record++) for (let v = 1; v <= 10; v++) expected.add(`chaos_${record}_${v}`);
    const seen = new Map<string, number>();
    const maxVersion = new Map<string, number>();
    let duplicatesOtherId = 0;
    let orderViolations = 0;
    for (const message of messages) {
      if (message.id !== message.headerId) duplicatesOtherId += 1;
      seen.set(message.id, (seen.get(message.id) ?? 0) + 1);
      const [, record, v] = message.id.split("_");
      const max = maxVersion.get(record!) ?? 0;
      if (Number(v) < max) orderViolations += 1;
      maxVersion.set(record!, Math.max(max, Number(v)));
    }
    const lost = [...expected].filter((id) => !seen.has(id)).length;
    const duplicatesSameId = [...seen.values()].reduce((sum, count) => sum + count - 1, 0);
    return { kind, events: expected.size, restarts: done, received: messages.length, lost, duplicatesSameId, duplicatesOtherId, orderViolations, seconds: Math.round((Date.now() - started) / 1000), retried };
  } finally {
    ticking = false;
    await ticker;
    await dispatcher.stop(0);
    await store.close();
    await broker.stop();
  }
}

export function brokerRestartRows(results: BrokerRestartResult[], minRestarts: number): Row[] {
  return results.map((result) => {
    if (result.skipped) return { suite: "broker", scenario: `${result.kind}: restarts while events flow`, figures: "", result: "skipped", notes: result.skipped };
    const ok = result.lost === 0 && result.duplicatesOtherId === 0 && result.orderViolations === 0 && result.restarts >= minRestarts;
    return {
      suite: "broker",
      scenario: `${result.kind}: ${result.restarts} SIGKILL + restart while ${result.events} events flow`,
      figures: `received ${result.received}, lost ${result.lost}, duplicates ${result.duplicatesSameId} (all under the same id; under another id ${result.duplicatesOtherId}), order violations ${result.orderViolations}; ${result.retried} attempts failed and were retried; ${result.seconds} s`,
      result: ok ? "pass" : "FAIL",
    };
  });
}
