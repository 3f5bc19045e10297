import type { ChannelModel, ConfirmChannel, ConsumeMessage } from "amqplib";
import { BrokerTransport, brokerTransport, nameCheck, caOf, clientModule, describe, resultAfter, withTimeout, type DestinationTemplate } from "../shared.js";
import type { OutgoingMessage, SendResult, TransportDefinition, TransportTarget } from "../types.js";

/**
 * RabbitMQ (AMQP 0-9-1): publish to the exchange with the routing-key template, persistent,
 * `message_id` = event id, on a confirm channel; `mandatory`, so a message no queue takes comes
 * back (basic.return) and is a dead letter with the broker's reason, never a silent drop.
 *
 * Except right after a reconnect: a broker that just restarted may still be recovering its
 * queues and bindings, and consumers declare theirs again when they reconnect, so for
 * `RECOVERY_MS` after a connection that follows a lost connection or a failed connect, a return
 * is retried with the retry policy's back-off. Still unroutable after that, it is a dead letter.
 * (A first connection has nothing to recover from: a return on it is a dead letter at once.)
 */

/** How long after a reconnect a returned (unroutable) message is retried rather than dead-lettered. */
export const RECOVERY_MS = 10 * 60_000;

interface AmqpTarget extends TransportTarget {
  exchange: string;
  routing_key: string;
}

const EXAMPLE = "amqp://user:pass@host:5672/vhost";

export const exchangeProblem = nameCheck("the exchange name is empty", [
  [(name) => name.length > 127, "an exchange name has at most 127 characters"],
  [(name) => !/^[A-Za-z0-9_.:-]+$/.test(name), "an exchange name may contain only letters, digits, -, _, . and :"],
]);

export const routingKeyProblem = nameCheck("the routing key is empty", [[(key) => Buffer.byteLength(key) > 255, "a routing key has at most 255 bytes"]]);

export const transport: TransportDefinition = brokerTransport("amqp", "PUBLISH", "RabbitMQ (AMQP 0-9-1): one persistent, confirmed message per event", {
  url: { schemes: ["amqp", "amqps"], example: EXAMPLE, tlsSchemes: ["amqps"] },
  templates: [
  { key: "exchange", about: "the exchange to publish to (the operator's, declared beforehand)", example: "retrohook", invalid: exchangeProblem },
  { key: "routing_key", about: "routing-key template", example: "{type}", invalid: routingKeyProblem },
],
  create: (target, templates, options) => new AmqpTransport(target as AmqpTarget, templates, options.now ?? Date.now),
});

interface Link {
  model: ChannelModel;
  channel: ConfirmChannel;
  /** Messages the broker returned as unroutable, by message id, until their confirm arrives. */
  returned: Map<string, string>;
  /** Why the channel closed, once it did. */
  closed?: string;
  /** When it was opened, if it follows a lost connection or a failed connect (the broker may be recovering). */
  reconnectedAt?: number;
}

/** The `amqplib` module: its load starts with the first AMQP target (a process without one never loads it). */
const loadAmqp = clientModule<typeof import("amqplib")>("amqplib");

class AmqpTransport extends BrokerTransport<Link, AmqpTarget> {
  constructor(
    target: AmqpTarget,
    templates: readonly DestinationTemplate[],
    private readonly now: () => number,
  ) {
    super(target, templates);
    void loadAmqp();
  }

  protected async shut(link: Link): Promise<void> {
    await link.model.close();
  }

  protected async open(): Promise<Link> {
    // This connection follows a lost one or a failed connect (not the first, nor one after `close`).
    const before = this.link.state().state;
    const reconnect = before === "reconnecting" || before === "down";
    const amqp = await loadAmqp();
    const ca = caOf(this.target.tls);
    const model = await amqp.connect(this.target.url, { timeout: this.target.timeout, ...(ca ? { ca: [Buffer.from(ca)] } : {}), clientProperties: { connection_name: `retrohook ${this.target.name}` } });
    const channel = await model.createConfirmChannel();
    const link: Link = { model, channel, returned: new Map(), ...(reconnect ? { reconnectedAt: this.now() } : {}) };
    const lost = (why: string): void => {
      link.closed ??= why;
      this.link.drop(link, why);
    };
    model.on("error", (error: unknown) => lost(`connection: ${describe(error)}`));
    model.on("close", (error?: unknown) => lost(error ? `connection closed: ${describe(error)}` : "connection closed"));
    channel.on("error", (error: unknown) => lost(`channel: ${describe(error)}`));
    channel.on("close", () => {
      lost("channel closed");
      void model.close().catch(() => undefined);
    });
    channel.on("return", (message: ConsumeMessage) => {
      const id = message.properties.messageId as string | undefined;
      if (id) link.returned.set(id, `${message.fields.exchange ? `exchange "${message.fields.exchange}"` : "the default exchange"} has no queue bound for routing key "${message.fields.routingKey}" (basic.return ${(message.fields as { replyCode?: number }).replyCode ?? 312} ${(message.fields as { replyText?: string }).replyText ?? "NO_ROUTE"})`);
    });
    return link;
  }

  protected async publish(link: Link, names: Record<string, string>, message: OutgoingMessage, started: number): Promise<SendResult> {
    const exchange = names.exchange!;
    const routingKey = names.routing_key!;
    const envelope = message.event.envelope;
    const id = envelope.id;
    link.returned.delete(id);
    const confirmed = new Promise<void>((resolve, reject) => {
      try {
        link.channel.publish(
          exchange,
          routingKey,
          Buffer.from(message.body, "utf8"),
          {
            persistent: true,
            mandatory: true,
            messageId: id,
            contentType: message.contentType,
            type: envelope.type,
            appId: "retrohook",
            timestamp: Math.floor(Date.parse(envelope.detected_at) / 1000),
            headers: { ...this.target.headers, ...message.headers },
          },
          (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()),
        );
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    try {
      await withTimeout(confirmed, this.target.timeout, "the publisher confirm");
    } catch (error) {
      link.returned.delete(id);
      const why = link.closed ?? describe(error);
      if (/timeout/i.test(describe(error))) this.link.drop(link);
      if (/NOT_FOUND|404/.test(why)) {
        const missing = /no exchange '([^']*)'/.exec(why)?.[1] ?? exchange;
        return resultAfter(started, "retry", `no exchange "${missing}" on the broker (${why}): declare it, e.g. rabbitmqadmin declare exchange name=${missing} type=topic durable=true; the events wait until it exists`);
      }
      return resultAfter(started, "retry", `not confirmed: ${why}`);
    }
    const returned = link.returned.get(id);
    link.returned.delete(id);
    if (returned) {
      const since = link.reconnectedAt === undefined ? undefined : this.now() - link.reconnectedAt;
      if (since !== undefined && since < RECOVERY_MS) {
        const reason = `unroutable right after a reconnect (${Math.round(since / 1000)} s ago): ${returned}; retried while the broker may still be recovering its queues and bindings (a dead letter if still unroutable ${RECOVERY_MS / 60_000} min after the reconnect)`;
        return resultAfter(started, "retry", reason, returned);
      }
      return resultAfter(started, "dead", `unroutable: ${returned}`, returned);
    }
    const answer = `publisher confirm: exchange "${exchange}", routing key "${routingKey}"`;
    return resultAfter(started, "delivered", answer, answer);
  }

}
