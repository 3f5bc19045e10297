import { z } from "zod";
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from "amqplib";
import { renderTemplate, templateProblems } from "../template.js";
import { brokerDisplay, brokerUrlProblems, caOf, connectionFor, describe, LazyConnection, resultAfter, withTimeout } from "../shared.js";
import type { OutgoingMessage, SendResult, Transport, TransportDefinition, TransportTarget } from "../types.js";

/**
 * RabbitMQ (AMQP 0-9-1): publish to the exchange with the routing-key template, persistent,
 * `message_id` = event id, on a confirm channel; `mandatory`, so a message no queue takes comes
 * back (basic.return) and is a dead letter with the broker's reason, never a silent drop.
 */

interface AmqpTarget extends TransportTarget {
  exchange: string;
  routing_key: string;
}

const EXAMPLE = "amqp://user:pass@host:5672/vhost";

export function exchangeProblem(name: string): string | undefined {
  if (name === "") return "the exchange name is empty";
  if (name.length > 127) return "an exchange name has at most 127 characters";
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) return "an exchange name may contain only letters, digits, -, _, . and :";
  return undefined;
}

export function routingKeyProblem(key: string): string | undefined {
  if (key === "") return "the routing key is empty";
  if (Buffer.byteLength(key) > 255) return "a routing key has at most 255 bytes";
  return undefined;
}

export const transport: TransportDefinition = {
  type: "amqp",
  summary: "RabbitMQ (AMQP 0-9-1): one persistent, confirmed message per event",
  verb: "PUBLISH",
  fields: {
    exchange: z.string().optional().describe("Only for type amqp (required): the exchange to publish to (the operator's; declared beforehand). Placeholders as in `routing_key`."),
    routing_key: z
      .string()
      .optional()
      .describe("Only for type amqp (required): routing-key template, e.g. `{type}`; placeholders {source}, {resource}, {type}, {event}, {kind}."),
  },
  check(target) {
    const amqp = target as AmqpTarget;
    const problems = brokerUrlProblems(target.url, ["amqp", "amqps"], EXAMPLE);
    if (amqp.exchange === undefined) problems.push({ path: ["exchange"], message: "required for type amqp (e.g. retrohook)" });
    else problems.push(...templateProblems("exchange", amqp.exchange, exchangeProblem));
    if (amqp.routing_key === undefined) problems.push({ path: ["routing_key"], message: "required for type amqp (e.g. {type})" });
    else problems.push(...templateProblems("routing_key", amqp.routing_key, routingKeyProblem));
    return problems;
  },
  destination: (target) => brokerDisplay(target.url, `exchange ${(target as AmqpTarget).exchange} routing key ${(target as AmqpTarget).routing_key}`),
  create: (target) => new AmqpTransport(target as AmqpTarget),
};

interface Link {
  model: ChannelModel;
  channel: ConfirmChannel;
  /** Messages the broker returned as unroutable, by message id, until their confirm arrives. */
  returned: Map<string, string>;
  /** Why the channel closed, once it did. */
  closed?: string;
}

class AmqpTransport implements Transport {
  private readonly link: LazyConnection<Link>;

  constructor(private readonly target: AmqpTarget) {
    this.link = new LazyConnection(
      () => this.open(),
      async (link) => {
        await link.model.close();
      },
    );
  }

  private async open(): Promise<Link> {
    const amqp = await import("amqplib");
    const ca = caOf(this.target.tls);
    const model = await amqp.connect(this.target.url, { timeout: this.target.timeout, ...(ca ? { ca: [Buffer.from(ca)] } : {}), clientProperties: { connection_name: `retrohook ${this.target.name}` } });
    const channel = await model.createConfirmChannel();
    const link: Link = { model, channel, returned: new Map() };
    const lost = (why: string): void => {
      link.closed ??= why;
      this.link.drop(link);
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

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const started = performance.now();
    const envelope = message.event.envelope;
    const exchange = renderTemplate("exchange", this.target.exchange, envelope, exchangeProblem);
    if ("problem" in exchange) return resultAfter(started, "dead", exchange.problem);
    const routingKey = renderTemplate("routing_key", this.target.routing_key, envelope, routingKeyProblem);
    if ("problem" in routingKey) return resultAfter(started, "dead", routingKey.problem);
    const open = await connectionFor(this.link, this.target, started, signal);
    if ("result" in open) return open.result;
    const link = open.connection;
    const id = envelope.id;
    link.returned.delete(id);
    const confirmed = new Promise<void>((resolve, reject) => {
      try {
        link.channel.publish(
          exchange.name,
          routingKey.name,
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
      return resultAfter(started, "retry", /NOT_FOUND|404/.test(why) ? `the broker refused the exchange: ${why}` : `not confirmed: ${why}`);
    }
    const returned = link.returned.get(id);
    link.returned.delete(id);
    if (returned) return resultAfter(started, "dead", `unroutable: ${returned}`, returned);
    const answer = `publisher confirm: exchange "${exchange.name}", routing key "${routingKey.name}"`;
    return resultAfter(started, "delivered", answer, answer);
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
