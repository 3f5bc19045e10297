import { z } from "zod";
import type { RedisClientType } from "redis";
import { BrokerTransport, brokerTransport, nameCheck, caOf, clientModule, describe, resultAfter, withTimeout, type DestinationTemplate } from "../shared.js";
import type { OutgoingMessage, SendResult, TransportDefinition, TransportTarget } from "../types.js";

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

export const streamProblem = nameCheck("the stream name is empty", [
  [(name) => /\s/.test(name) || [...name].some((char) => char.charCodeAt(0) < 0x20), "a stream name must not contain spaces or control characters"],
]);

export const transport: TransportDefinition = brokerTransport("redis-stream", "XADD", "Redis Streams: one XADD entry per event", {
  url: { schemes: ["redis", "rediss"], example: EXAMPLE, tlsSchemes: ["rediss"] },
  templates: [{ key: "stream", about: "stream key template", example: "retrohook:{source}", invalid: streamProblem }],
  fields: {
    maxlen: z
      .number()
      .int("must be a whole number")
      .positive("must be 1 or more")
      .optional()
      .describe("Only for type redis-stream: trim the stream to about this many entries (`XADD … MAXLEN ~ n`). Default: no trimming."),
  },
  create: (target, templates) => new RedisStreamTransport(target as RedisTarget, templates),
});

type Client = RedisClientType;

/** The `redis` module: its load starts with the first Redis target (a process without one never loads it). */
const loadRedis = clientModule<typeof import("redis")>("redis");

class RedisStreamTransport extends BrokerTransport<Client, RedisTarget> {
  /** The target's own headers as fields (lower-case names), listed once. */
  private readonly targetFields: ReadonlyArray<[string, string]>;
  /** XADD's trim option, made once. */
  private readonly trim: Parameters<Client["xAdd"]>[3];

  constructor(target: RedisTarget, templates: readonly DestinationTemplate[]) {
    super(target, templates);
    this.targetFields = Object.entries(target.headers).map(([name, value]) => [name.toLowerCase(), value]);
    this.trim = target.maxlen ? { TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: target.maxlen } } : undefined;
    void loadRedis();
  }

  protected shut(client: Client): Promise<void> {
    client.destroy();
    return Promise.resolve();
  }

  protected async open(): Promise<Client> {
    const { createClient } = await loadRedis();
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
        // rediss:// alone makes node-redis speak TLS (`tls` without `rediss://` is a config error).
        ...(ca ? { tls: true as const, ca } : {}),
      },
    }) as unknown as Client;
    // node-redis emits errors while it reconnects; the attempt that meets one reports it, the state shows it.
    client.on("error", (error: unknown) => {
      if (connected) this.link.report("reconnecting", describe(error));
    });
    client.on("ready", () => {
      if (connected) this.link.report("connected");
    });
    try {
      await client.connect();
      connected = true;
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  }

  protected async publish(client: Client, names: Record<string, string>, message: OutgoingMessage, started: number): Promise<SendResult> {
    const stream = names.stream!;
    const envelope = message.event.envelope;
    const fields: Record<string, string> = { id: envelope.id, type: envelope.type, body: message.body, ...message.headers };
    for (const [name, value] of this.targetFields) fields[name] ??= value;
    try {
      const entry = await withTimeout(
        client.xAdd(stream, "*", fields, this.trim),
        this.target.timeout,
        "XADD",
      );
      const answer = `XADD ${stream}: entry ${String(entry)}`;
      return resultAfter(started, "delivered", answer, answer);
    } catch (error) {
      const text = describe(error);
      // WRONGTYPE: the key holds something else than a stream; sending again will not change that.
      if (/^WRONGTYPE/.test(text)) return resultAfter(started, "dead", `refused by Redis: ${text}`, text);
      if (/timeout/i.test(text)) this.link.drop(client, text);
      return resultAfter(started, "retry", /^(ERR|NOAUTH|WRONGPASS|NOPERM|READONLY|OOM|LOADING|MISCONF)/.test(text) ? `refused by Redis: ${text}` : `connection: ${text}`);
    }
  }

}
