/**
 * HTTP's verdict on one attempt: the status classification of the delivery policy
 * (docs/decisions/0004-delivery-policy.md). Pure.
 */

/** How one attempt ended, as far as classification needs. */
export interface AttemptResult {
  status?: number;
  /** Set when no HTTP response came back. */
  error?: { kind: AttemptErrorKind; message: string };
  /** `location` header of a 3xx, for the reason text. */
  location?: string;
}

export type AttemptErrorKind = "timeout" | "connection" | "tls" | "aborted" | "other";

export type Classification =
  | { outcome: "success"; reason: string }
  | { outcome: "retry"; reason: string }
  | { outcome: "dead"; reason: string };

/**
 * - 2xx: delivered.
 * - 408, 425, 429, 5xx, timeouts, connection errors: retried — the receiver may recover.
 * - 3xx: retried, not followed. A redirect is nearly always a moved or mistyped URL; the
 *   operator fixes the target and the retries then deliver, where a dead letter would need a replay.
 * - TLS failures (unknown CA, expired or mismatched certificate): retried for the same reason —
 *   it is a configuration problem (`tls.ca`, the receiver's certificate) that someone will fix;
 *   the breaker pauses the target meanwhile and says why.
 * - Any other 4xx (400, 401, 403, 404, 410, 422…): dead letter at once; the receiver has
 *   answered about this event, and sending it again will not change the answer.
 */
export function classify(result: AttemptResult): Classification {
  const status = result.status;
  if (status === undefined) {
    const error = result.error ?? { kind: "other", message: "no response" };
    return { outcome: "retry", reason: `${error.kind}: ${error.message}` };
  }
  if (status >= 200 && status < 300) return { outcome: "success", reason: `HTTP ${status}` };
  if (status >= 300 && status < 400) {
    const where = result.location ? ` to ${result.location}` : "";
    return { outcome: "retry", reason: `HTTP ${status}: redirect${where} not followed; fix the target URL` };
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) return { outcome: "retry", reason: `HTTP ${status}` };
  if (status >= 400 && status < 500) return { outcome: "dead", reason: `HTTP ${status}: rejected by the receiver` };
  return { outcome: "retry", reason: `HTTP ${status}: unexpected status` };
}
