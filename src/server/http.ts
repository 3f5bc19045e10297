import type { IncomingMessage, ServerResponse } from "node:http";

/** Largest request body the server reads (admin actions are tiny). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A request the server refuses: answered with `status` and `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Turns every outgoing text into one without secrets (registered config secrets, URL credentials). */
export type Scrubber = (text: string) => string;

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
} as const;

export function sendJson(res: ServerResponse, status: number, body: unknown, scrub: Scrubber, headers: Record<string, string> = {}): void {
  send(res, status, "application/json; charset=utf-8", `${JSON.stringify(body, null, 2)}\n`, scrub, headers);
}

export function send(res: ServerResponse, status: number, contentType: string, text: string, scrub: Scrubber, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = Buffer.from(scrub(text), "utf8");
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": contentType, "content-length": String(body.length), ...headers });
  res.end(body);
}

/** The body as text; 413 past `MAX_BODY_BYTES` (declared or streamed). */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    throw new HttpError(413, `request body of ${declared} bytes is larger than the limit of ${limit} bytes`, { connection: "close" });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body is larger than the limit of ${limit} bytes`, { connection: "close" });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A JSON object body; an empty body is `{}`. Anything else is a 400 (or 415 for another content type). */
/** A JSON object body with only the `allowed` fields; an unknown (e.g. misspelt) field is a 400 naming it. */
export async function readJsonObject(req: IncomingMessage, allowed: readonly string[] = []): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === "") return {};
  const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(415, `request body must be JSON with "content-type: application/json" (got "${type || "none"}")`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `malformed JSON body: ${(error as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new HttpError(400, "request body must be a JSON object");
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new HttpError(400, `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k.slice(0, 60)}"`).join(", ")}; this action takes ${allowed.length > 0 ? allowed.map((k) => `"${k}"`).join(", ") : "no fields"}`);
  }
  return value as Record<string, unknown>;
}

/** An optional string field of a JSON body; 400 naming the field when it has another type. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value === "") throw new HttpError(400, `"${field}" must be a non-empty string`);
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new HttpError(400, `"${field}" must be true or false`);
  return value;
}
