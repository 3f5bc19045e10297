import type { JetStreamClient, NatsConnection } from "nats";
import { BrokerTransport, brokerTransport, nameCheck, caOf, clientModule, describe, resultAfter, type DestinationTemplate } from "../shared.js";
import type { OutgoingMessage, SendResult, TransportDefinition, TransportTarget } from "../types.js";

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
export const subjectProblem = nameCheck("the subject is empty", [
  [(subject) => /[\s]/.test(subject), "a subject must not contain spaces"],
  [(subject) => /[*>]/.test(subject), "a subject to publish to must not contain the wildcards * or >"],
  [(subject) => subject.split(".").some((token) => token === ""), "a subject must not have an empty token (leading, trailing or double dot)"],
]);

export const transport: TransportDefinition = brokerTransport("nats", "PUBLISH", "NATS JetStream: one published message per event, acknowledged by a stream", {
  url: { schemes: ["nats", "tls"], example: EXAMPLE },
  templates: [{ key: "subject", about: "subject template", example: "retrohook.{source}.{type}", invalid: subjectProblem }],
  create: (target, templates) => new NatsTransport(target as NatsTarget, templates),
});

/** The `nats` module: its load starts with the first NATS target (a process without one never loads it). */
const loadNats = clientModule<typeof import("nats")>("nats");
let nats: typeof import("nats") | undefined;
const encoder = new TextEncoder();

class NatsTransport extends BrokerTransport<NatsConnection, NatsTarget> {
  /** The JetStream client of the current connection. */
  private js?: { nc: NatsConnection; client: JetStreamClient };
  /** The target's own headers, listed once. */
  private readonly targetHeaders: ReadonlyArray<[string, string]>;

  constructor(target: NatsTarget, templates: readonly DestinationTemplate[]) {
    super(target, templates);
    this.targetHeaders = Object.entries(target.headers);
    void loadNats();
  }

  protected async open(): Promise<NatsConnection> {
    nats ??= await loadNats();
    const { connect } = nats;
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
      // No stack captured per request (two Error objects per publish, ~7 % of a delivery's CPU
      // in a profile): a failed publish still says what failed, by its code and message.
      noAsyncTraces: true,
    });
    void nc.closed().then((error) => this.link.drop(nc, error ? describe(error) : "connection closed"));
    void (async () => {
      for await (const event of nc.status()) {
        if (event.type === "disconnect" || event.type === "reconnecting") this.link.report("reconnecting", `${event.type} ${String(event.data)}`);
        else if (event.type === "reconnect") this.link.report("connected");
        else if (event.type === "error") this.link.report("reconnecting", String(event.data));
      }
    })().catch(() => undefined);
    return nc;
  }

  protected shut(nc: NatsConnection): Promise<void> {
    return nc.close();
  }

  protected async publish(nc: NatsConnection, names: Record<string, string>, message: OutgoingMessage, started: number, signal: AbortSignal): Promise<SendResult> {
    const subject = names.subject!;
    const headers = nats!.headers();
    for (const [name, value] of this.targetHeaders) headers.set(name, value);
    for (const [name, value] of Object.entries(message.headers)) headers.set(name, value);
    try {
      if (this.js?.nc !== nc) this.js = { nc, client: nc.jetstream() };
      const ack = await this.js.client.publish(subject, encoder.encode(message.body), {
        msgID: message.event.envelope.id,
        headers,
        timeout: this.target.timeout,
      });
      const answer = `JetStream ack: stream ${ack.stream}, seq ${ack.seq}${ack.duplicate ? " (duplicate: the stream already had this event id)" : ""}`;
      return resultAfter(started, "delivered", answer, answer);
    } catch (error) {
      if (signal.aborted) return { ...resultAfter(started, "retry", "aborted: delivery is stopping"), aborted: true };
      return resultAfter(started, ...verdictOf(error, subject));
    }
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
