import http from "node:http";
import https from "node:https";
import got, { type Got } from "got";
import type { TargetConfig } from "../../config/types.js";
import type { AttemptErrorKind } from "./classify.js";
import { scrub, scrubUrl } from "../../telemetry/logger.js";
import { packageVersion } from "../../version.js";
import { caOf, isTlsCode } from "../shared.js";

/**
 * One HTTP attempt to a target: POST, no redirects followed, no retries inside got (the
 * dispatcher's retry policy owns that, on the injectable clock), keep-alive agents per target.
 */

/** Bytes of the response body kept for the delivery log and dead letters. */
export const BODY_SNIPPET_BYTES = 512;
/** Bytes scrubbed before the cut, so a secret straddling byte 512 leaves no prefix behind. */
const SCRUB_WINDOW_BYTES = 4096;

/** The body's start, scrubbed of secrets, then cut to BODY_SNIPPET_BYTES on a character boundary. */
function snippetOf(body: Buffer): string {
  const scrubbed = Buffer.from(scrub(body.subarray(0, SCRUB_WINDOW_BYTES).toString("utf8")), "utf8");
  let cut = Math.min(BODY_SNIPPET_BYTES, scrubbed.length);
  while (cut > 0 && cut < scrubbed.length && (scrubbed[cut]! & 0xc0) === 0x80) cut -= 1;
  return scrubbed.subarray(0, cut).toString("utf8");
}
/** Bytes read from a response before the connection is dropped instead of drained. */
const MAX_DRAIN_BYTES = 64 * 1024;

export interface PostResult {
  status?: number;
  /** Response headers, lower-case names, repeated values joined with `, `. */
  headers: Record<string, string>;
  /** First 512 bytes of the response body, as UTF-8. */
  bodySnippet: string;
  latencyMs: number;
  /** Set when no complete HTTP response came back. The message holds no URL credentials. */
  error?: { kind: AttemptErrorKind; code?: string; message: string };
}

/** `tls.ca` is PEM text, or the path of a PEM file. */
export interface TargetClientOptions {
  userAgent?: string;
}

export class TargetClient {
  private readonly got: Got;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly baseHeaders: Record<string, string>;

  constructor(
    private readonly target: TargetConfig,
    options: TargetClientOptions = {},
  ) {
    const ca = caOf(target.tls);
    const maxSockets = Math.max(1, target.concurrency || 1);
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets }),
      https: new https.Agent({ keepAlive: true, maxSockets, ...(ca ? { ca } : {}) }),
    };
    this.got = got.extend({
      agent: this.agents,
      followRedirect: false,
      retry: { limit: 0 },
      throwHttpErrors: false,
      timeout: { request: target.timeout },
      decompress: true,
      ...(ca ? { https: { certificateAuthority: ca } } : {}),
    });
    this.baseHeaders = {};
    for (const [name, value] of Object.entries(target.headers)) this.baseHeaders[name.toLowerCase()] = value;
    this.baseHeaders["user-agent"] = options.userAgent ?? this.baseHeaders["user-agent"] ?? `retrohook/${packageVersion()}`;
  }

  /** One POST. Never throws: failures come back in `error`. `headers` override the target's own. */
  post(body: string, headers: Record<string, string>, signal?: AbortSignal): Promise<PostResult> {
    const started = performance.now();
    const merged: Record<string, string> = { ...this.baseHeaders };
    for (const [name, value] of Object.entries(headers)) merged[name.toLowerCase()] = value;

    // got 14 never removes its listener from a request's signal: give each request its own.
    const local = new AbortController();
    const onAbort = (): void => local.abort();
    if (signal?.aborted) local.abort();
    else signal?.addEventListener("abort", onAbort, { once: true });

    return new Promise<PostResult>((resolve) => {
      let status: number | undefined;
      let responseHeaders: Record<string, string> = {};
      const chunks: Buffer[] = [];
      let kept = 0;
      let read = 0;
      let settled = false;
      const finish = (error?: PostResult["error"]): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        resolve({
          ...(status !== undefined ? { status } : {}),
          headers: responseHeaders,
          bodySnippet: snippetOf(Buffer.concat(chunks)),
          latencyMs: Math.round(performance.now() - started),
          ...(status === undefined && error ? { error } : {}),
        });
      };

      const stream = this.got.stream.post(this.target.url, { body, headers: merged, signal: local.signal });
      stream.on("response", (response: http.IncomingMessage) => {
        status = response.statusCode;
        responseHeaders = flattenHeaders(response.headers);
      });
      stream.on("data", (chunk: Buffer) => {
        if (kept < SCRUB_WINDOW_BYTES) {
          chunks.push(chunk);
          kept += chunk.length;
        }
        read += chunk.length;
        if (read > MAX_DRAIN_BYTES) {
          finish();
          stream.destroy();
        }
      });
      stream.on("end", () => finish());
      stream.on("error", (error: Error) => finish(describeError(error)));
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

const CONNECTION_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "HPE_INVALID_CONSTANT",
]);


/** Sorts a got error into the kinds the retry policy and the breaker speak of. */
export function describeError(error: Error): NonNullable<PostResult["error"]> {
  const code = (error as { code?: unknown }).code;
  const codeText = typeof code === "string" ? code : undefined;
  const message = scrubUrl(error.message);
  let kind: AttemptErrorKind = "other";
  if (error.name === "TimeoutError" || codeText === "ETIMEDOUT") kind = "timeout";
  else if (error.name === "AbortError" || codeText === "ERR_ABORTED") kind = "aborted";
  else if (isTlsCode(codeText)) kind = "tls";
  else if (codeText && (CONNECTION_CODES.has(codeText) || codeText.startsWith("HPE_"))) kind = "connection";
  return { kind, ...(codeText ? { code: codeText } : {}), message };
}
