import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isLoopbackHost } from "./listen.js";

/** Cookie the web UI's sign-in sets; its value is derived from the token, never the token itself. */
export const SESSION_COOKIE = "retrohook_session";

/**
 * Who may use the admin API and the UI. With `admin_token` set (required off loopback) every
 * request needs `Authorization: Bearer <token>` or the UI's session cookie. Without a token
 * (loopback only), requests must name a loopback host, so a web page elsewhere cannot reach
 * the API through DNS rebinding.
 */
export class AdminAuth {
  private readonly tokenDigest?: Buffer;
  private readonly session?: string;

  constructor(token: string | undefined) {
    if (token) {
      this.tokenDigest = digest(token);
      this.session = createHmac("sha256", token).update("retrohook ui session v1").digest("base64url");
    }
  }

  get required(): boolean {
    return this.tokenDigest !== undefined;
  }

  /** The session cookie value for a correct token, else undefined. */
  signIn(token: string): string | undefined {
    return this.tokenMatches(token) ? this.session : undefined;
  }

  /** `bearer`/`session` when the request may proceed, else why not. */
  check(req: IncomingMessage): { ok: true; via: "bearer" | "session" | "loopback" } | { ok: false; reason: string } {
    if (!this.required) {
      const host = hostName(req.headers.host);
      return host === undefined || isLoopbackHost(host) ? { ok: true, via: "loopback" } : { ok: false, reason: `host "${host}" is not a loopback name; set server.admin_token to serve other names` };
    }
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return match && this.tokenMatches(match[1]!) ? { ok: true, via: "bearer" } : { ok: false, reason: "wrong or malformed bearer token" };
    }
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && this.session !== undefined && safeEqual(digest(cookie), digest(this.session))) return { ok: true, via: "session" };
    return { ok: false, reason: cookie === undefined ? "admin token required (Authorization: Bearer <token>)" : "session expired or invalid; sign in again" };
  }

  private tokenMatches(candidate: string): boolean {
    return this.tokenDigest !== undefined && safeEqual(digest(candidate), this.tokenDigest);
  }
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The host of a `Host` header without its port. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bracket = /^\[([^\]]+)\]/.exec(header);
  if (bracket) return bracket[1];
  return header.replace(/:\d+$/, "");
}

/**
 * Browsers send `Origin` on cross-site POSTs: refuse those whose origin is not this server,
 * so a page elsewhere cannot make a signed-in browser act.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Failed `/login` attempts per client address: the first `FREE_FAILURES - 1` cost nothing, then
 * each further failure blocks the client for 1 s, 2 s, 4 s … (at most 15 minutes), during which even
 * the right token gets 429 — guessing cannot go on at full speed. A success forgets the client;
 * a client not seen for an hour is forgotten; at most 10,000 clients are tracked (oldest first out).
 */
export class LoginThrottle {
  static readonly FREE_FAILURES = 5;
  static readonly MAX_BLOCK_MS = 15 * 60_000;
  private readonly clients = new Map<string, { failures: number; blockedUntil: number; lastAt: number }>();

  constructor(private readonly now: () => number) {}

  /** Milliseconds the client must still wait (0: it may try). */
  waitMs(client: string): number {
    const entry = this.clients.get(client);
    if (!entry) return 0;
    if (this.now() - entry.lastAt > 3_600_000) {
      this.clients.delete(client);
      return 0;
    }
    return Math.max(0, entry.blockedUntil - this.now());
  }

  /** Records a wrong token; returns the failures so far and how long the client is now blocked. */
  failed(client: string): { failures: number; blockedMs: number } {
    const now = this.now();
    const entry = this.clients.get(client) ?? { failures: 0, blockedUntil: 0, lastAt: now };
    entry.failures += 1;
    entry.lastAt = now;
    const over = entry.failures - LoginThrottle.FREE_FAILURES;
    const blockedMs = over >= 0 ? Math.min(LoginThrottle.MAX_BLOCK_MS, 1000 * 2 ** Math.min(over, 20)) : 0;
    entry.blockedUntil = now + blockedMs;
    this.clients.delete(client);
    this.clients.set(client, entry);
    if (this.clients.size > 10_000) this.clients.delete(this.clients.keys().next().value!);
    return { failures: entry.failures, blockedMs };
  }

  succeeded(client: string): void {
    this.clients.delete(client);
  }
}
