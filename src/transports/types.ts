import type { z } from "zod";
import type { TargetConfig } from "../config/types.js";
import type { StoredEvent } from "../store/store.js";

/**
 * The seam between delivery and the wire. A transport turns one message (the event in the
 * target's format, with its Standard Webhooks signature) into one send and says how it went;
 * the dispatcher, retry policy, breaker, dead letters, replay, delivery log, `test-target`,
 * metrics, admin API and UI work on that answer alone.
 */

/** One attempt's message: the event in the target's format, signed. */
export interface OutgoingMessage {
  event: StoredEvent;
  body: string;
  contentType: string;
  /**
   * The format's own headers (`x-webhook-signature`, …) and the Standard Webhooks ones
   * (`webhook-id`, `webhook-timestamp`, `webhook-signature` when the target has a secret),
   * lower-case names. Each transport puts them where its consumers find them.
   */
  headers: Record<string, string>;
}

export type SendOutcome = "delivered" | "retry" | "dead";

export interface SendResult {
  outcome: SendOutcome;
  /** What happened, for the delivery log, dead letters and `test-target` (no credentials). */
  reason: string;
  /** The earliest next attempt, in ms from now, when the other side said so (`Retry-After`). */
  retryAfterMs?: number;
  latencyMs: number;
  /** The HTTP status, for transports that have one. */
  status?: number;
  /** What the receiver or broker answered (≤ 512 bytes, scrubbed); kept with a dead letter. */
  response?: string;
  /** Cut short because delivery is stopping: the delivery stays pending, nothing is recorded. */
  aborted?: boolean;
}

/** A broker connection's state: `idle` until the first send. */
export type ConnectionState = "idle" | "connected" | "reconnecting" | "down";

export interface ConnectionStatus {
  state: ConnectionState;
  /** When it entered this state (ISO 8601). */
  since: string;
  /** The last connection error, credentials removed. */
  lastError?: string;
}

export interface Transport {
  /** One send. Never throws: every failure comes back as a result. */
  send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult>;
  /** The state of a long-lived connection (brokers); absent for transports without one (HTTP). */
  connection?(): ConnectionStatus;
  /** Drops connections; later sends may reconnect. */
  close(): Promise<void>;
}

export interface TransportOptions {
  /** `user-agent` of HTTP requests. */
  userAgent?: string;
  /** The dispatcher's clock (an HTTP-date `Retry-After` is read against it). Default `Date.now`. */
  now?: () => number;
}

/** A config problem a transport can know without connecting: `path` inside the target. */
export interface TargetProblem {
  path: Array<string | number>;
  message: string;
}

/** A target as its transport reads it: the common keys plus the transport's own. */
export type TransportTarget = TargetConfig & Record<string, unknown>;

export interface TransportDefinition {
  /** The target's `type:`. */
  type: string;
  /** One line for docs: what it is. */
  summary: string;
  /** What one attempt is called in the delivery log and UI (`POST`, `PUBLISH`, `XADD`). */
  verb: string;
  /** Config keys of this transport besides `url` (optional in the shared schema; `check` requires what it needs). */
  fields: Record<string, z.ZodType>;
  /** URL, templates and required keys, checked without connecting. */
  check(target: TransportTarget): TargetProblem[];
  /** Where messages go, without credentials: for status, the UI and the delivery log. */
  destination(target: TransportTarget): string;
  create(target: TransportTarget, options: TransportOptions): Transport;
}
