import { Agent as HttpAgent, get as httpGet } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import got from "got";

/**
 * The floors: the same HTTP work retrohook does, with the same client (got 14) and the same
 * keep-alive agent settings, minus everything retrohook adds (state, detection, signing).
 */

/** What `src/sources/http/client.ts` gives every source: one keep-alive agent pair, 16 sockets. */
export function sourceAgents(): { http: HttpAgent; https: HttpsAgent } {
  return { http: new HttpAgent({ keepAlive: true, maxSockets: 16 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 16 }) };
}

/** One GET as the source client sends it, body parsed as JSON. */
export async function getJson(url: string, agents: ReturnType<typeof sourceAgents>): Promise<unknown> {
  const response = await got(url, {
    headers: { accept: "application/json", authorization: "Bearer bench-token-0001" },
    followRedirect: false,
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { request: 30_000 },
    agent: agents,
    responseType: "buffer",
    decompress: true,
  });
  if (response.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${response.statusCode}`);
  return JSON.parse(response.rawBody.toString("utf8")) as unknown;
}

/** Every page of a listing, one request at a time like the poller; stops on a short page. */
export async function fetchAllPages(
  listUrl: string,
  pageSize: number,
  agents: ReturnType<typeof sourceAgents>,
  onPage?: (records: Array<Record<string, unknown>>) => void,
): Promise<{ records: number; requests: number }> {
  let records = 0;
  let requests = 0;
  const separator = listUrl.includes("?") ? "&" : "?";
  for (let page = 1; page <= 1_000_000; page += 1) {
    const body = (await getJson(`${listUrl}${separator}page=${page}&per_page=${pageSize}`, agents)) as Array<Record<string, unknown>>;
    requests += 1;
    records += body.length;
    onPage?.(body);
    if (body.length < pageSize) break;
  }
  return { records, requests };
}

/**
 * The raw floor: one GET with `node:http` alone (same keep-alive agent settings, the same
 * headers), the body collected and `JSON.parse`d — what is left without an HTTP client library.
 */
export function getJsonRaw(url: string, agent: HttpAgent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { agent, headers: { accept: "application/json", authorization: "Bearer bench-token-0001" } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        if (response.statusCode !== 200) return reject(new Error(`GET ${url}: HTTP ${response.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    request.setTimeout(30_000, () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on("error", reject);
  });
}

/** Every page of a listing with the raw floor's GET (`getJsonRaw`), one request at a time; stops on a short page. */
export async function fetchAllPagesRaw(listUrl: string, pageSize: number, agent: HttpAgent): Promise<{ records: number; requests: number }> {
  let records = 0;
  let requests = 0;
  const separator = listUrl.includes("?") ? "&" : "?";
  for (let page = 1; page <= 1_000_000; page += 1) {
    const body = (await getJsonRaw(`${listUrl}${separator}page=${page}&per_page=${pageSize}`, agent)) as unknown[];
    requests += 1;
    records += body.length;
    if (body.length < pageSize) break;
  }
  return { records, requests };
}

/** What `src/delivery/post.ts` gives a target: keep-alive agents with `concurrency` sockets. */
export function targetGot(concurrency: number) {
  return got.extend({
    agent: { http: new HttpAgent({ keepAlive: true, maxSockets: concurrency }), https: new HttpsAgent({ keepAlive: true, maxSockets: concurrency }) },
    followRedirect: false,
    retry: { limit: 0 },
    throwHttpErrors: false,
    timeout: { request: 10_000 },
    decompress: true,
  });
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at a time. */
export async function pool(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      await work(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * Calls `fn(tick)` at every multiple of `periodMs` of the wall clock from now until `untilMs`
 * (setTimeout, like node-cron's heartbeat). Resolves after the last tick's call.
 */
export function alignedTicks(periodMs: number, untilMs: number, fn: (tick: number) => void): Promise<void> {
  return new Promise((resolve) => {
    const arm = (): void => {
      const now = Date.now();
      const tick = Math.ceil((now + 1) / periodMs) * periodMs;
      if (tick > untilMs) {
        resolve();
        return;
      }
      setTimeout(() => {
        fn(tick);
        arm();
      }, tick - now);
    };
    arm();
  });
}

/** Where the broker floor publishes (the names a bench broker target renders to). */
export interface BrokerFloor {
  kind: "nats" | "amqp" | "redis-stream";
  url: string;
  subject?: string;
  exchange?: string;
  routingKey?: string;
  stream?: string;
}

export interface PublishedEvent {
  id: string;
  type: string;
  body: string;
}

/**
 * The broker floor: `events` published by the bare client with the acks a broker target waits
 * for — JetStream ack with `Nats-Msg-Id`, publisher confirm of a persistent `mandatory` message
 * with its `message_id`, the `XADD` reply for fields `id`, `type`, `body` — `concurrency` at a
 * time; no signing, no state. Returns the ms from the first publish to the last ack (the
 * connection is opened before).
 */
export async function publishBare(floor: BrokerFloor, events: PublishedEvent[], concurrency: number): Promise<number> {
  if (floor.kind === "nats") {
    const { connect } = await import("nats");
    const url = new URL(floor.url);
    const nc = await connect({ servers: `${url.hostname}:${url.port}` });
    const js = nc.jetstream();
    const encoder = new TextEncoder();
    const started = performance.now();
    await pool(events.length, concurrency, async (i) => {
      const event = events[i]!;
      await js.publish(floor.subject!, encoder.encode(event.body), { msgID: event.id });
    });
    const ms = performance.now() - started;
    await nc.close();
    return ms;
  }
  if (floor.kind === "amqp") {
    const amqp = await import("amqplib");
    const model = await amqp.connect(floor.url);
    const channel = await model.createConfirmChannel();
    let returned = 0;
    channel.on("return", () => (returned += 1));
    const started = performance.now();
    await pool(events.length, concurrency, async (i) => {
      const event = events[i]!;
      await new Promise<void>((resolve, reject) => {
        channel.publish(floor.exchange!, floor.routingKey!, Buffer.from(event.body, "utf8"), { persistent: true, mandatory: true, messageId: event.id, contentType: "application/json" }, (error: unknown) =>
          error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
        );
      });
    });
    const ms = performance.now() - started;
    await model.close();
    if (returned > 0) throw new Error(`amqp floor: ${returned} messages returned as unroutable`);
    return ms;
  }
  const { createClient } = await import("redis");
  const client = createClient({ url: floor.url });
  await client.connect();
  const started = performance.now();
  await pool(events.length, concurrency, async (i) => {
    const event = events[i]!;
    await client.xAdd(floor.stream!, "*", { id: event.id, type: event.type, body: event.body });
  });
  const ms = performance.now() - started;
  client.destroy();
  return ms;
}
