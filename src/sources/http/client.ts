import { hash } from "node:crypto";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import got, { RequestError, type Method } from "got";
import type { Clock } from "../../clock.js";
import { scrub, scrubUrl } from "../../telemetry/logger.js";
import { AuthError, ForbiddenError, SourceError } from "../errors.js";
import { crashPoint } from "../../testing/fault-injection.js";
import { parseJsonExact } from "./json-body.js";
import { backoffDelay, parseRetryAfter } from "./retry.js";

/**
 * The HTTP client every source uses: got with redirects off, got's retries off and our own
 * policy instead (backoff with jitter on 5xx, timeouts and connection errors; `Retry-After` on
 * 429/503; never on 400/401/403/404), a byte limit counted on the stream, and JSON checks that
 * turn HTML, truncated or non-JSON bodies into errors — never into "zero records".
 */

export interface HttpRequest {
  method?: Method;
  /** Absolute URL, or a path appended to the client's base URL. */
  url: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
  /** Statuses the caller handles itself (e.g. 404 on a single-record GET). */
  allow?: number[];
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON (undefined for an empty body). */
  body: unknown;
  /** Path of the request without query (safe to log). */
  path: string;
  /** Hash of the body's bytes (computed when first asked): the same digest, the same body. */
  digest(): string;
  /** The body's bytes as received (decompressed). */
  bytes: Buffer;
  /** The body parsed again with integers beyond 2^53 as strings of their digits (see json-body.ts). */
  exactBody(): unknown;
}

export interface HttpClientOptions {
  baseUrl: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
  clock: Clock;
  /** Attempts per request for retryable failures (default 3). */
  attempts?: number;
  /** Longest wait honoured inside a pass; a longer Retry-After fails the pass and backs off. */
  maxWaitMs?: number;
  /** Called before every request (budget accounting); may throw to refuse it. */
  beforeRequest?: (request: HttpRequest) => void | Promise<void>;
  /** Adds auth to a request (may fetch a token); `retryAuth` is true after a 401 (renew once). */
  authorize?: (request: HttpRequest, retryAuth: boolean) => void | Promise<void>;
  /** A vendor-specific reading of a status before the generic one (e.g. FacturaScripts' 429 IP ban). */
  classifyStatus?: (status: number, where: string, path: string) => SourceError | undefined;
  /** Observes every response (rate-limit headers, metrics). */
  afterResponse?: (response: { status: number; headers: HttpResponse["headers"]; path: string }) => void;
  random?: () => number;
}

export class HttpClient {
  private readonly agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 16 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 16 }) };
  readonly origin: string;

  constructor(private readonly options: HttpClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** Resolves a path or same-origin URL; another origin is an error (credentials never leave). */
  resolve(url: string, query?: HttpRequest["query"]): URL {
    const base = this.options.baseUrl.endsWith("/") ? this.options.baseUrl : `${this.options.baseUrl}/`;
    const resolved = /^https?:\/\//i.test(url) ? new URL(url) : new URL(url.replace(/^\//, ""), base);
    if (resolved.origin !== this.origin) {
      throw new SourceError(`refusing to send credentials to another origin: ${scrubUrl(resolved.origin + resolved.pathname)}`, "redirect", { path: resolved.pathname });
    }
    for (const [key, value] of Object.entries(this.options.query ?? {})) if (!resolved.searchParams.has(key)) resolved.searchParams.set(key, value);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) resolved.searchParams.set(key, String(value));
    return resolved;
  }

  async request(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const attempts = this.options.attempts ?? 3;
    let renewedAuth = false;
    let justRenewed = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const retryAuth = justRenewed;
        justRenewed = false;
        return await this.once(request, retryAuth, signal);
      } catch (error) {
        // A 401 renews the credentials once (e.g. an expired OAuth token), then counts.
        if (error instanceof AuthError && this.options.authorize && !renewedAuth) {
          renewedAuth = true;
          justRenewed = true;
          attempt -= 1;
          continue;
        }
        if (!(error instanceof SourceError) || !isRetryable(error) || attempt >= attempts || signal?.aborted) throw error;
        const wait = error.details.retryAfterMs ?? backoffDelay(attempt, this.options.random);
        if (wait > (this.options.maxWaitMs ?? 60_000)) {
          // Too long to wait inside a pass: persist it as a back-off for the whole source.
          if (error.details.retryAfterMs !== undefined && error.details.untilMs === undefined) {
            throw new SourceError(error.message, error.fault, { ...error.details, untilMs: this.options.clock.now() + error.details.retryAfterMs });
          }
          throw error;
        }
        await this.options.clock.sleep(wait, signal);
      }
    }
  }

  private async once(request: HttpRequest, retryAuth: boolean, signal?: AbortSignal): Promise<HttpResponse> {
    const prepared: HttpRequest = { ...request, headers: { ...request.headers }, query: { ...request.query } };
    await this.options.authorize?.(prepared, retryAuth);
    const url = this.resolve(prepared.url, prepared.query);
    const path = url.pathname;
    await this.options.beforeRequest?.(prepared);
    const where = `${prepared.method ?? "GET"} ${path}`;
    crashPoint("http:before-request");
    let response;
    let oversized = false;
    try {
      const pending = got(url, {
        method: prepared.method ?? "GET",
        headers: { accept: "application/json", ...this.options.headers, ...prepared.headers },
        ...(prepared.json !== undefined ? { json: prepared.json } : prepared.body !== undefined ? { body: prepared.body } : {}),
        followRedirect: false,
        throwHttpErrors: false,
        retry: { limit: 0 },
        timeout: { request: this.options.timeoutMs },
        agent: this.agents,
        responseType: "buffer",
        decompress: true,
        signal,
      });
      const limit = this.options.maxResponseBytes;
      pending.on("downloadProgress", (progress: { transferred: number }) => {
        if (progress.transferred > limit && !oversized) {
          oversized = true;
          pending.cancel();
        }
      });
      response = await pending;
    } catch (error) {
      if (oversized) throw new SourceError(tooLarge(where, this.options.maxResponseBytes), "too-large", { path });
      throw this.transportError(error, where, path);
    }
    crashPoint("http:after-response");
    const status = response.statusCode;
    const headers = response.headers as HttpResponse["headers"];
    this.options.afterResponse?.({ status, headers, path });
    if (response.rawBody.length > this.options.maxResponseBytes) {
      throw new SourceError(tooLarge(where, this.options.maxResponseBytes), "too-large", { status, path });
    }
    const raw = response.rawBody;
    const digest = (): string => hash("sha1", raw, "base64url");
    let exact: { body: unknown } | undefined;
    const exactBody = (): unknown => (exact ??= { body: parseJsonExact(raw.toString("utf8")) }).body;
    if (request.allow?.includes(status)) return { status, headers, body: safeParse(raw), path, digest, bytes: raw, exactBody };
    const special = this.options.classifyStatus?.(status, where, path);
    if (special) throw special;
    if (status >= 300 && status < 400) {
      const location = typeof headers.location === "string" ? scrubUrl(headers.location) : "?";
      throw new SourceError(`${where}: HTTP ${status} redirect to ${location} not followed`, "redirect", { status, path });
    }
    if (status === 401) throw new AuthError(`${where}: HTTP 401 unauthorized — check the credentials`, "auth", { status, path });
    if (status === 403) throw new ForbiddenError(`${where}: HTTP 403 forbidden — the key lacks permission for this resource`, "forbidden", { status, path });
    if (status === 429 || status === 503) {
      const retryAfterMs = parseRetryAfter(headers["retry-after"], this.options.clock.now());
      throw new SourceError(`${where}: HTTP ${status}${status === 429 ? " rate limited" : " unavailable"}${retryAfterMs !== undefined ? ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)` : ""}`, status === 429 ? "rate-limited" : "http", { status, path, retryAfterMs });
    }
    if (status < 200 || status >= 300) {
      throw new SourceError(`${where}: HTTP ${status}${describeBody(response.rawBody)}`, "http", { status, path });
    }
    const contentType = String(headers["content-type"] ?? "");
    const text = response.rawBody.toString("utf8");
    if (/html/i.test(contentType) || /^\s*</.test(text)) {
      throw new SourceError(`${where}: expected JSON, got ${contentType || "HTML"} (status ${status})`, "not-json", { status, path });
    }
    if (text.trim() === "") return { status, headers, body: undefined, path, digest, bytes: raw, exactBody: () => undefined };
    try {
      return { status, headers, body: JSON.parse(text) as unknown, path, digest, bytes: raw, exactBody };
    } catch {
      const declared = Number(headers["content-length"]);
      const truncated = Number.isFinite(declared) && declared > response.rawBody.length;
      throw new SourceError(`${where}: ${truncated ? "truncated" : "invalid"} JSON body (${response.rawBody.length} bytes)`, truncated ? "truncated" : "not-json", { status, path });
    }
  }

  private transportError(error: unknown, where: string, path: string): SourceError {
    if (error instanceof SourceError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof RequestError) {
      if (error.code === "ETIMEDOUT" || error.name === "TimeoutError") return new SourceError(`${where}: timed out after ${this.options.timeoutMs} ms`, "timeout", { path });
      if (error.name === "ReadError" || error.code === "ERR_STREAM_PREMATURE_CLOSE") return new SourceError(`${where}: connection closed mid-response (truncated)`, "truncated", { path });
      const hint = unreachableHint(error.code);
      return new SourceError(`${where}: ${error.code ?? "request failed"} ${scrubUrl(error.message)}${hint}`, "connection", { path });
    }
    return new SourceError(`${where}: ${scrubUrl(message)}`, "connection", { path });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** Like a 401's "check the credentials": an address nothing answers on is a config or network matter. */
function unreachableHint(code: string | undefined): string {
  if (code === "ECONNREFUSED") return " — nothing accepts connections there: check the source's base_url (host and port) and the network";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return " — the host name does not resolve: check the source's base_url (or domain) and the network (DNS)";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return " — the host is unreachable: check the source's base_url and the network";
  return "";
}

function isRetryable(error: SourceError): boolean {
  if (error.fault === "timeout" || error.fault === "connection" || error.fault === "truncated" || error.fault === "rate-limited") return true;
  return error.fault === "http" && (error.details.status ?? 0) >= 500;
}

function safeParse(body: Buffer): unknown {
  try {
    return body.length === 0 ? undefined : (JSON.parse(body.toString("utf8")) as unknown);
  } catch {
    return body.toString("utf8").slice(0, 200);
  }
}

/**
 * The start of an error body, for the message (kept in state as the resource's last error): the
 * vendor may quote the credentials it refused, so it is scrubbed of every registered secret —
 * before it is clipped, so that a secret across the cut cannot leave its first characters.
 */
function describeBody(body: Buffer): string {
  const text = scrub(body.toString("utf8", 0, Math.min(body.length, 4096)).replace(/\s+/g, " ").trim()).slice(0, 160);
  if (!text || text.startsWith("<")) return "";
  return `: ${text}`;
}

/**
 * A body over `max_response_bytes` (cut off while downloading, so it never reaches memory
 * whole): what to lower, and what raising the limit costs. A page takes roughly fifteen times
 * its size in memory while it is parsed into records.
 */
function tooLarge(where: string, limit: number): string {
  return `${where}: response larger than max_response_bytes (${limit}): ask for smaller pages (lower pagination.size of a rest resource, or the page size parameter in its query) or raise max_response_bytes (a page takes about 15 times its size in memory while it is read)`;
}
