import type { Clock } from "../../../clock.js";
import type { Logger } from "../../../telemetry/logger.js";
import { SourceError } from "../../errors.js";
import type { HttpClient, HttpRequest, HttpResponse } from "../../http/client.js";
import { parseRetryAfter } from "../../http/retry.js";

/**
 * Fakturoid's rate limit, read from every response: `X-RateLimit-Policy: default;q=400;w=60`
 * (quota per window of w seconds) and `X-RateLimit: default;r=398;t=55` (r left, t seconds to
 * the reset). Policy: when `r` is at or below `RESERVE`, the next request waits for the reset
 * (the injectable clock's sleep) instead of drawing a 429. A 429 that comes anyway (another
 * client on the same account) is honoured: wait `t` seconds and retry, at most twice per
 * request and never longer than `MAX_WAIT_MS`; otherwise the pass fails with a back-off until
 * the reset, which the pass persists (fault `backoff`: the HTTP client must not retry it).
 */
export const RESERVE = 2;
export const MAX_WAIT_MS = 2 * 60_000;
const RETRIES_429 = 2;

export interface RateLimitState {
  remaining?: number;
  resetAt?: number;
  quota?: number;
  windowSeconds?: number;
}

/** `default;r=398;t=55` → {r: 398, t: 55}; several policies: the first. */
export function parseRateLimitHeader(value: string | string[] | undefined): Record<string, number> {
  const text = Array.isArray(value) ? value[0] : value;
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const part of text.split(",")[0]!.split(";")) {
    const match = /^\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*$/i.exec(part);
    if (match) out[match[1]!.toLowerCase()] = Number(match[2]);
  }
  return out;
}

export class RateLimitGuard {
  readonly state: RateLimitState = {};

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Sends a request through `client`, waiting for the window's reset when it is nearly spent. */
  async request(client: HttpClient, request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    for (let retry = 0; ; retry += 1) {
      await this.waitIfSpent(signal);
      const response = await client.request({ ...request, allow: [...(request.allow ?? []), 429] }, signal);
      const resetInMs = this.observe(response.headers);
      if (response.status !== 429) return response;
      const where = `${request.method ?? "GET"} ${response.path}`;
      const waitMs = resetInMs ?? parseRetryAfter(response.headers["retry-after"], this.clock.now());
      if (waitMs !== undefined && waitMs <= MAX_WAIT_MS && retry < RETRIES_429 && !signal?.aborted) {
        this.logger.warn({ path: response.path, waitMs }, "Fakturoid answered 429 (rate limited); waiting for the window to reset");
        await this.clock.sleep(waitMs, signal);
        this.state.remaining = undefined;
        continue;
      }
      const untilMs = this.clock.now() + (waitMs ?? 60_000);
      throw new SourceError(`${where}: HTTP 429 rate limited by Fakturoid; backing off until ${new Date(untilMs).toISOString()}`, "backoff", { status: 429, path: response.path, untilMs });
    }
  }

  /** Records the headers of a response; the ms until the window resets, when given. */
  observe(headers: HttpResponse["headers"]): number | undefined {
    const policy = parseRateLimitHeader(headers["x-ratelimit-policy"]);
    if (policy.q !== undefined) this.state.quota = policy.q;
    if (policy.w !== undefined) this.state.windowSeconds = policy.w;
    const limit = parseRateLimitHeader(headers["x-ratelimit"]);
    if (limit.r === undefined && limit.t === undefined) return undefined;
    const resetInMs = limit.t !== undefined ? Math.ceil(limit.t * 1000) : undefined;
    this.state.remaining = limit.r;
    this.state.resetAt = resetInMs !== undefined ? this.clock.now() + resetInMs : undefined;
    return resetInMs;
  }

  private async waitIfSpent(signal?: AbortSignal): Promise<void> {
    const { remaining, resetAt } = this.state;
    if (remaining === undefined || remaining > RESERVE || resetAt === undefined) return;
    const waitMs = resetAt - this.clock.now();
    if (waitMs > 0) {
      if (waitMs > MAX_WAIT_MS) {
        throw new SourceError(`Fakturoid's rate-limit window is spent and resets only in ${Math.ceil(waitMs / 1000)} s; backing off until ${new Date(resetAt).toISOString()}`, "backoff", { untilMs: resetAt });
      }
      this.logger.info({ remaining, waitMs }, "Fakturoid rate-limit window nearly spent; waiting for its reset");
      await this.clock.sleep(waitMs, signal);
    }
    this.state.remaining = undefined;
    this.state.resetAt = undefined;
  }
}
