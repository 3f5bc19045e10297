import { z } from "zod";
import type { RedisClientType } from "redis";
import { renderTemplate, templateProblems } from "../template.js";
import { brokerDisplay, brokerUrlProblems, caOf, connectionFor, describe, LazyConnection, resultAfter, withTimeout } from "../shared.js";
import type { OutgoingMessage, SendResult, Transport, TransportDefinition, TransportTarget } from "../types.js";

/**
 * Redis Streams (client: the `redis` package, node-redis 5+/6): `XADD` to the stream-name
 * template with fields `id` (the event id), `type`, `body` (the formatted body), `content-type`
 * and the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
 * optionally trimmed to about `maxlen` entries. Redis 7 has no de-duplication on XADD: a retry
 * after a lost answer may add the event twice, under the same `id` — consumers de-duplicate by it.
 */

interface RedisTarget extends TransportTarget {
  stream: string;
  maxlen?: number;
}

const EXAMPLE = "redis://host:6379/0";

export function streamProblem(name: string): string | undefined {
  if (name === "") return "the stream name is empty";
  if (/\s/.test(name) || [...name].some((char) => char.charCodeAt(0) < 0x20)) return "a stream name must not contain spaces or control characters";
  return undefined;
}

export const transport: TransportDefinition = {
  type: "redis-stream",
  summary: "Redis Streams: one XADD entry per event",
  verb: "XADD",
  fields: {
    stream: z
      .string()
      .optional()
      .describe("Only for type redis-stream (required): stream key template, e.g. `retrohook:{source}`; placeholders {source}, {resource}, {type}, {event}, {kind}."),
    maxlen: z
      .number()
      .int("must be a whole number")
      .positive("must be 1 or more")
      .optional()
      .describe("Only for type redis-stream: trim the stream to about this many entries (`XADD … MAXLEN ~ n`). Default: no trimming."),
  },
  check(target) {
    const problems = brokerUrlProblems(target.url, ["redis", "rediss"], EXAMPLE);
    const stream = (target as RedisTarget).stream;
    if (stream === undefined) problems.push({ path: ["stream"], message: "required for type redis-stream (e.g. retrohook:{source})" });
    else problems.push(...templateProblems("stream", stream, streamProblem));
    return problems;
  },
  destination: (target) => brokerDisplay(target.url, `stream ${(target as RedisTarget).stream}`),
  create: (target) => new RedisStreamTransport(target as RedisTarget),
};

type Client = RedisClientType;

class RedisStreamTransport implements Transport {
  private readonly client: LazyConnection<Client>;

  constructor(private readonly target: RedisTarget) {
    this.client = new LazyConnection(
      () => this.open(),
      async (client) => {
        client.destroy();
        await Promise.resolve();
      },
    );
  }

  private async open(): Promise<Client> {
    const { createClient } = await import("redis");
    const ca = caOf(this.target.tls);
    let connected = false;
    const client = createClient({
      url: this.target.url,
      // Fail a command at once while disconnected: the retry policy owns back-off, not a queue here.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.target.timeout,
        // Reconnect in the background once connected; a first connect that fails fails the attempt.
        reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(100 * 2 ** retries, 2_000) : cause),
        ...(ca ? { tls: true as const, ca } : {}),
      },
    }) as unknown as Client;
    // node-redis emits errors while it reconnects; the attempt that meets one reports it.
    client.on("error", () => undefined);
    try {
      await client.connect();
      connected = true;
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const started = performance.now();
    const envelope = message.event.envelope;
    const stream = renderTemplate("stream", this.target.stream, envelope, streamProblem);
    if ("problem" in stream) return resultAfter(started, "dead", stream.problem);
    const open = await connectionFor(this.client, this.target, started, signal);
    if ("result" in open) return open.result;
    const client = open.connection;
    const fields: Record<string, string> = { id: envelope.id, type: envelope.type, body: message.body, ...message.headers };
    for (const [name, value] of Object.entries(this.target.headers)) fields[name.toLowerCase()] ??= value;
    try {
      const entry = await withTimeout(
        client.xAdd(stream.name, "*", fields, this.target.maxlen ? { TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: this.target.maxlen } } : undefined),
        this.target.timeout,
        "XADD",
      );
      const answer = `XADD ${stream.name}: entry ${String(entry)}`;
      return resultAfter(started, "delivered", answer, answer);
    } catch (error) {
      const text = describe(error);
      // WRONGTYPE: the key holds something else than a stream; sending again will not change that.
      if (/^WRONGTYPE/.test(text)) return resultAfter(started, "dead", `refused by Redis: ${text}`, text);
      if (/timeout/i.test(text)) this.client.drop(client);
      return resultAfter(started, "retry", /^(ERR|NOAUTH|WRONGPASS|NOPERM|READONLY|OOM|LOADING|MISCONF)/.test(text) ? `refused by Redis: ${text}` : `connection: ${text}`);
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
