import { displayUrl, httpUrlProblem } from "../../config/url.js";
import { parseRetryAfter } from "../../core/retry-policy.js";
import { scrubUrl } from "../../telemetry/logger.js";
import type { SendResult, Transport, TransportDefinition, TransportOptions, TransportTarget } from "../types.js";
import { classify } from "./classify.js";
import { TargetClient } from "./post.js";

/**
 * HTTP targets: one POST per attempt, no redirect followed (a 3xx is retried with the place it
 * pointed to in the reason), the status classified by `classify`, `Retry-After` honoured.
 */
export const transport: TransportDefinition = {
  type: "http",
  summary: "a webhook receiver: one signed POST per event",
  verb: "POST",
  fields: {},
  check(target) {
    const problem = httpUrlProblem(target.url);
    return problem ? [{ path: ["url"], message: problem }] : [];
  },
  destination: (target) => displayUrl(target.url),
  create: (target, options) => new HttpTransport(target, options),
};

class HttpTransport implements Transport {
  private readonly client: TargetClient;

  private readonly now: () => number;

  constructor(
    private readonly target: TransportTarget,
    options: TransportOptions,
  ) {
    this.client = new TargetClient(target, options.userAgent ? { userAgent: options.userAgent } : {});
    this.now = options.now ?? Date.now;
  }

  async send(message: { body: string; headers: Record<string, string> }, signal: AbortSignal): Promise<SendResult> {
    const result = await this.client.post(message.body, message.headers, signal);
    const status = result.status;
    const location = status !== undefined && status >= 300 && status < 400 ? redirectTarget(result.headers.location, this.target.url) : undefined;
    const verdict = classify({
      ...(status !== undefined ? { status } : {}),
      ...(result.error ? { error: result.error } : {}),
      ...(location ? { location } : {}),
    });
    const retryAfterMs = verdict.outcome === "retry" ? parseRetryAfter(result.headers["retry-after"], this.now()) : undefined;
    return {
      outcome: verdict.outcome === "success" ? "delivered" : verdict.outcome,
      reason: verdict.reason,
      latencyMs: result.latencyMs,
      ...(status !== undefined ? { status } : {}),
      response: result.bodySnippet,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(result.error?.kind === "aborted" ? { aborted: true } : {}),
    };
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }
}

/** Where a redirect pointed, without query or credentials (for the reason text). */
function redirectTarget(location: string | undefined, base: string): string | undefined {
  if (!location) return undefined;
  try {
    const url = new URL(location, base);
    return `${url.origin}${url.pathname}`;
  } catch {
    return scrubUrl(location).slice(0, 200);
  }
}
