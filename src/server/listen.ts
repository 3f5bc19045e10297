import { isIP } from "node:net";
import type { ServerConfig } from "../config/types.js";
import { ConfigError } from "../errors.js";

/** Default of `server.listen`. */
export const DEFAULT_LISTEN = "127.0.0.1:8080";

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * `host:port`, `[v6]:port`, `:port` (every interface) or a bare port (loopback). The host may
 * be a name (`localhost`) or an IP literal; the port 0 lets the system pick one.
 */
export function parseListen(listen: string): ListenAddress {
  const text = listen.trim();
  const bare = /^(\d+)$/.exec(text);
  const match = bare ? undefined : /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text);
  const port = Number(bare?.[1] ?? match?.[3] ?? Number.NaN);
  if ((!bare && !match) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`server.listen: expected host:port (e.g. ${DEFAULT_LISTEN}, [::1]:8080 or 0.0.0.0:8080), got "${listen}"`);
  }
  if (bare) return { host: "127.0.0.1", port };
  const host = match?.[1] ?? (match?.[2] ? match[2] : "0.0.0.0");
  return { host, port };
}

/** 127.0.0.0/8, ::1, an IPv4-mapped loopback, or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * The server's start-up check (exit 2 when it fails): `listen` must parse, and a listener
 * reachable from other machines needs `admin_token`.
 */
export function checkServerConfig(server: ServerConfig): ListenAddress {
  const address = parseListen(server.listen || DEFAULT_LISTEN);
  if (!isLoopbackHost(address.host) && !server.admin_token) {
    throw new ConfigError(
      `server.listen is "${server.listen}", which is reachable from other machines: set server.admin_token (the admin API and web UI then need "Authorization: Bearer <token>"), or listen on 127.0.0.1`,
    );
  }
  if (!isLoopbackHost(address.host) && server.admin_token && tokenEntropyBits(server.admin_token) < MIN_TOKEN_BITS) {
    throw new ConfigError(
      `server.admin_token is too weak for server.listen "${server.listen}" (reachable from other machines): it needs at least 32 bytes of entropy; generate one with: openssl rand -base64 32`,
    );
  }
  return address;
}

/** 32 bytes of entropy: what an admin token reachable from other machines must carry. */
export const MIN_TOKEN_BITS = 256;

/**
 * A conservative estimate of a token's entropy in bits: its length times log2 of the alphabet
 * its character classes span (lower, upper, digits, other), counting a character repeated in
 * a row once and capped by its distinct characters. `openssl rand -base64 32` (44 characters)
 * gives ~260 bits, `openssl rand -hex 32` ~330; words and short tokens fall far short.
 */
export function tokenEntropyBits(token: string): number {
  let alphabet = 0;
  if (/[a-z]/.test(token)) alphabet += 26;
  if (/[A-Z]/.test(token)) alphabet += 26;
  if (/[0-9]/.test(token)) alphabet += 10;
  if (/[^a-zA-Z0-9]/.test(token)) alphabet += 33;
  const distinct = new Set(token).size;
  const runs = token.replace(/(.)\1+/g, "$1").length;
  return runs * Math.log2(Math.max(2, Math.min(alphabet, distinct * 4)));
}

/** The URL a local client uses to reach the listener (`0.0.0.0` → `127.0.0.1`, `::` → `[::1]`). */
export function localUrl(address: ListenAddress): string {
  let host = address.host;
  if (host === "0.0.0.0" || host === "") host = "127.0.0.1";
  if (host === "::") host = "::1";
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
}
