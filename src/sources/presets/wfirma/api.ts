import type { Clock } from "../../../clock.js";
import type { JsonObject, JsonValue } from "../../../core/types.js";
import type { Logger } from "../../../telemetry/logger.js";
import { AuthError, ForbiddenError, SourceError } from "../../errors.js";
import type { HttpClient } from "../../http/client.js";
import type { SourceSecrets } from "../../source.js";
import type { WfirmaTokens } from "./token.js";

/**
 * wFirma's transport rules: every action is a POST with a JSON body; errors come in the body's
 * `status.code` (with HTTP 200), never as HTTP statuses alone. `call` turns each code into the
 * error the pipeline understands: `AUTH` suspends the source, `ACCESS DENIED` / `DENIED SCOPE
 * REQUESTED` suspend the resource, the "wait" and limit codes back off (persisted by the pass),
 * and `NOT FOUND` (also as the localized Polish sentence) is an answer, not an error.
 * Facts: docs/vendors/wfirma.md.
 */

/** How long each vendor "wait" answer keeps this source quiet. */
export const WFIRMA_BACKOFF_MS: Readonly<Record<string, number>> = {
  "AUTH FAILED LIMIT WAIT 5 MINUTES": 5 * 60_000,
  "TOTAL REQUESTS LIMIT EXCEEDED": 10 * 60_000,
  "TOTAL EXECUTION TIME LIMIT EXCEEDED": 10 * 60_000,
  "SNAPSHOT LOCK": 10 * 60_000,
  "OUT OF SERVICE": 5 * 60_000,
};

/** The sentence the webit SDK maps to NOT FOUND ("object not found, does not exist or was deleted"). */
const POLISH_NOT_FOUND = /nie\s+znaleziono|nie\s+istnieje|zosta[łl]\s+usuni[ęe]ty/i;

/** On OK: the body and the digest of its bytes (page marks, docs/decisions/0007). */
export type WfirmaAnswer = { found: true; body: JsonObject; digest: string; exactBody: () => JsonObject } | { found: false };

/** One wFirma module behind a canonical resource. */
export interface WfirmaModuleSpec {
  /** URL segment: `expenses`, `warehouse_document_w_z`. */
  module: string;
  /** Top-level key of requests and responses. */
  branch: string;
  /** Key wrapping each record in a numbered entry. */
  singular: string;
  /** `object_name` of the payments that pay records of this module (`invoice`, `expense`). */
  paidBy?: string;
}

export interface WfirmaPage {
  records: JsonObject[];
  /** `parameters.total`: how many records match the request's conditions. */
  total?: number;
  /** `parameters.limit` as echoed (the server may clamp the one asked for). */
  limit?: number;
}

export class WfirmaApi {
  /** A vendor "wait" answer stops every later request of this source until it passes. */
  private waitUntil?: { untilMs: number; code: string };

  constructor(
    private readonly http: HttpClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** OAuth 2 with a refresh token: a Bearer access token per request, renewed by `tokens`. */
    private readonly tokens?: WfirmaTokens,
  ) {}

  /**
   * POSTs `/{module}/{action}[/{id}]`; resolves with the body on OK, `found: false` on NOT FOUND.
   * With OAuth refresh, an `AUTH` answer renews the access token and sends the request once more.
   */
  async call(path: string, body: JsonObject | undefined, context: { signal?: AbortSignal; secrets?: SourceSecrets } = {}): Promise<WfirmaAnswer> {
    const where = `POST ${path}`;
    if (this.waitUntil && this.waitUntil.untilMs > this.clock.now()) {
      const { code, untilMs } = this.waitUntil;
      throw new SourceError(`${where}: not sent — wFirma answered ${JSON.stringify(code)} to an earlier request; no request to wFirma before ${new Date(untilMs).toISOString()}`, "backoff", { path, untilMs });
    }
    for (let attempt = 0; ; attempt += 1) {
      const token = this.tokens ? await this.tokens.token(context.secrets, context.signal) : undefined;
      const headers = token ? { headers: { authorization: `Bearer ${token}` } } : {};
      const response = await this.http.request({ method: "POST", url: path, ...headers, ...(body ? { json: body } : {}) }, context.signal);
      const answer = response.body;
      if (token && attempt === 0 && isObject(answer) && isObject(answer.status) && answer.status.code === "AUTH") {
        this.logger.info({ path }, "wFirma refused the OAuth access token: renewing it once");
        this.tokens!.invalidate(token);
        continue;
      }
      return this.answer(response, answer, where, path);
    }
  }

  private answer(response: { digest(): string; exactBody(): unknown }, answer: unknown, where: string, path: string): WfirmaAnswer {
    if (!isObject(answer) || !isObject(answer.status) || typeof answer.status.code !== "string") {
      throw new SourceError(`${where}: the answer has no status.code — not a wFirma JSON response`, "shape", { path });
    }
    const code = answer.status.code.trim();
    if (code === "OK") return { found: true, body: answer, digest: response.digest(), exactBody: () => response.exactBody() as JsonObject };
    if (code === "NOT FOUND" || POLISH_NOT_FOUND.test(code)) return { found: false };
    throw this.statusError(code, describe(answer.status), where, path);
  }

  private statusError(code: string, description: string, where: string, path: string): SourceError {
    const said = `${where}: wFirma answered ${JSON.stringify(code)}${description ? ` (${description})` : ""}`;
    const waitMs = WFIRMA_BACKOFF_MS[code.toUpperCase()];
    if (waitMs !== undefined) {
      const untilMs = this.clock.now() + waitMs;
      const until = new Date(untilMs).toISOString();
      const message = `${said}; no request to wFirma before ${until}`;
      this.waitUntil = { untilMs, code };
      if (code.toUpperCase().startsWith("AUTH FAILED LIMIT")) {
        this.logger.error(
          { path, until },
          "wFirma locked API authentication after repeated failures (AUTH FAILED LIMIT WAIT 5 MINUTES): check access_key, secret_key and app_key (or oauth_token); retrohook waits before trying again",
        );
      } else {
        this.logger.warn({ path, until, code }, "wFirma asked to wait; backing off");
      }
      return new SourceError(message, "backoff", { path, untilMs });
    }
    switch (code.toUpperCase()) {
      case "AUTH":
        return new AuthError(`${said} — the access_key, secret_key and app_key (or the OAuth token) were refused`, "auth", { path });
      case "ACCESS DENIED":
      case "DENIED SCOPE REQUESTED":
        return new ForbiddenError(`${said} — the key may not read this module (or company_id is not one of the user's companies)`, "forbidden", { path });
      case "COMPANY ID REQUIRED":
        return new SourceError(`${said} — the user has several companies: set company_id in the source config`, "vendor-error", { path });
      default:
        return new SourceError(said, "vendor-error", { path });
    }
  }
}

/**
 * Records of a `find` answer: `{branch: {"0": {singular: {…}}, …, "parameters": {…}}}`. Numbered
 * entries are objects keyed "0", "1"… (never arrays, but an empty list may come as `[]`);
 * unknown branches are ignored, numbered keys are read in numeric order.
 */
export function pageOf(body: JsonObject, spec: WfirmaModuleSpec, where: string): WfirmaPage {
  const container = body[spec.branch];
  if (container === undefined || container === null) {
    throw new SourceError(`${where}: the answer has no "${spec.branch}" branch`, "shape");
  }
  if (Array.isArray(container)) return { records: container.map((entry, index) => unwrap(entry, spec, where, String(index))) };
  if (!isObject(container)) throw new SourceError(`${where}: "${spec.branch}" is not an object`, "shape");
  const keys = Object.keys(container).filter((key) => /^\d+$/.test(key)).sort((a, b) => Number(a) - Number(b));
  const records = keys.map((key) => unwrap(container[key], spec, where, key));
  const parameters = isObject(container.parameters) ? container.parameters : {};
  return { records, total: count(parameters.total), limit: count(parameters.limit) };
}

function unwrap(entry: JsonValue | undefined, spec: WfirmaModuleSpec, where: string, key: string): JsonObject {
  const record = isObject(entry) ? entry[spec.singular] : undefined;
  if (!isObject(record)) throw new SourceError(`${where}: entry "${key}" has no "${spec.singular}" object`, "shape");
  return record;
}

function count(value: JsonValue | undefined): number | undefined {
  const number = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
  return number !== undefined && Number.isFinite(number) ? number : undefined;
}

function describe(status: JsonObject): string {
  const text = typeof status.description === "string" ? status.description : typeof status.message === "string" ? status.message : "";
  return text.replace(/\s+/g, " ").trim().slice(0, 160);
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
