import { z } from "zod";
import type { NatsConnection } from "nats";
import { renderTemplate, templateProblems } from "../template.js";
import { brokerDisplay, brokerUrlProblems, caOf, connectionFor, describe, LazyConnection, resultAfter } from "../shared.js";
import type { OutgoingMessage, SendResult, Transport, TransportDefinition, TransportTarget } from "../types.js";

/**
 * NATS JetStream: publish to the subject template and wait for the stream's ack. `Nats-Msg-Id`
 * is the event id, so the stream drops a redelivery inside its duplicate window. The stream is
 * the operator's: a subject no stream takes is retried with a reason that says so.
 */

interface NatsTarget extends TransportTarget {
  subject: string;
}

const EXAMPLE = "nats://host:4222";

/** Why a subject is not one a message can be published to. */
export function subjectProblem(subject: string): string | undefined {
  if (subject === "") return "the subject is empty";
  if (/[\s]/.test(subject)) return "a subject must not contain spaces";
  if (/[*>]/.test(subject)) return "a subject to publish to must not contain the wildcards * or >";
  if (subject.split(".").some((token) => token === "")) return "a subject must not have an empty token (leading, trailing or double dot)";
  return undefined;
}

export const transport: TransportDefinition = {
  type: "nats",
  summary: "NATS JetStream: one published message per event, acknowledged by a stream",
  verb: "PUBLISH",
  fields: {
    subject: z
      .string()
      .optional()
      .describe("Only for type nats (required): subject template, e.g. `retrohook.{source}.{type}`; placeholders {source}, {resource}, {type}, {event}, {kind}."),
  },
  check(target) {
    const problems = brokerUrlProblems(target.url, ["nats", "tls"], EXAMPLE);
    const subject = (target as NatsTarget).subject;
    if (subject === undefined) problems.push({ path: ["subject"], message: "required for type nats (e.g. retrohook.{source}.{type})" });
    else problems.push(...templateProblems("subject", subject, subjectProblem));
    return problems;
  },
  destination: (target) => brokerDisplay(target.url, `subject ${(target as NatsTarget).subject}`),
  create: (target) => new NatsTransport(target as NatsTarget),
};

class NatsTransport implements Transport {
  private readonly connection: LazyConnection<NatsConnection>;

  constructor(private readonly target: NatsTarget) {
    this.connection = new LazyConnection(
      () => this.open(),
      (nc) => nc.close(),
    );
  }

  private async open(): Promise<NatsConnection> {
    const { connect } = await import("nats");
    const url = new URL(this.target.url);
    const ca = caOf(this.target.tls);
    const nc = await connect({
      servers: `${url.hostname}:${url.port || "4222"}`,
      ...(url.username && url.password ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : {}),
      ...(url.username && !url.password ? { token: decodeURIComponent(url.username) } : {}),
      ...(url.protocol === "tls:" || ca ? { tls: ca ? { ca } : {} } : {}),
      name: `retrohook ${this.target.name}`,
      timeout: this.target.timeout,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      waitOnFirstConnect: false,
    });
    void nc.closed().then(() => this.connection.drop(nc));
    return nc;
  }

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const started = performance.now();
    const subject = renderTemplate("subject", this.target.subject, message.event.envelope, subjectProblem);
    if ("problem" in subject) return resultAfter(started, "dead", subject.problem);
    const open = await connectionFor(this.connection, this.target, started, signal);
    if ("result" in open) return open.result;
    const nc = open.connection;
    const { headers: natsHeaders } = await import("nats");
    const headers = natsHeaders();
    for (const [name, value] of Object.entries(this.target.headers)) headers.set(name, value);
    for (const [name, value] of Object.entries(message.headers)) headers.set(name, value);
    try {
      const ack = await nc.jetstream().publish(subject.name, new TextEncoder().encode(message.body), {
        msgID: message.event.envelope.id,
        headers,
        timeout: this.target.timeout,
      });
      const answer = `JetStream ack: stream ${ack.stream}, seq ${ack.seq}${ack.duplicate ? " (duplicate: the stream already had this event id)" : ""}`;
      return resultAfter(started, "delivered", answer, answer);
    } catch (error) {
      if (signal.aborted) return { ...resultAfter(started, "retry", "aborted: delivery is stopping"), aborted: true };
      return resultAfter(started, ...verdictOf(error, subject.name));
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** A failed publish: missing stream and broken connections are retried; a message the stream refuses for itself is not. */
function verdictOf(error: unknown, subject: string): ["retry" | "dead", string] {
  const code = String((error as { code?: unknown }).code ?? "");
  const text = describe(error);
  if (code === "503") return ["retry", `no JetStream stream takes subject "${subject}" (NATS answered 503, no responders): create a stream for it, e.g. nats stream add --subjects "${subject.split(".")[0]}.>"`];
  if (code === "MAX_PAYLOAD_EXCEEDED" || code === "BAD_SUBJECT" || code === "BAD_PAYLOAD") return ["dead", `refused by NATS: ${text}`];
  if (/maximum (message|payload) size|message size exceeds/i.test(text)) return ["dead", `refused by the stream: ${text}`];
  if (code === "TIMEOUT" || /timeout/i.test(text)) return ["retry", `timeout: no JetStream ack for "${subject}": ${text}`];
  return ["retry", `connection: ${text}${code ? ` (${code})` : ""}`];
}
