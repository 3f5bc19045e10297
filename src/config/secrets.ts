import { stateUrlPassword } from "../store/url.js";
import type { Config } from "./types.js";

const SECRET_KEYS = new Set(["api_token", "token", "client_id", "client_secret", "access_key", "secret_key", "app_key", "oauth_token", "secret", "admin_token"]);

/** Headers that describe the request, never credentials: scrubbing their values would only blank words. */
const PLAIN_HEADERS = new Set(["accept", "accept-encoding", "accept-language", "content-type", "user-agent", "cache-control"]);

/** Whether a config path holds a secret: a secret key, or a header value other than the plain ones. */
export function isSecretPath(path: ReadonlyArray<string | number>): boolean {
  const last = path[path.length - 1];
  if (typeof last !== "string") return false;
  const headers = path.indexOf("headers");
  if (headers !== -1 && headers === path.length - 2) return !PLAIN_HEADERS.has(last.toLowerCase());
  return SECRET_KEYS.has(last);
}

/**
 * Every secret value in a loaded config: the secret keys of sources, targets and the server,
 * plus header values (they usually carry tokens) other than the plain ones above. Logs, CLI
 * output and stored error messages are scrubbed of them.
 */
export function secretValues(config: Config): string[] {
  const out: string[] = [];
  const visit = (value: unknown, key: string | undefined, underHeaders: boolean): void => {
    if (typeof value === "string") {
      if (underHeaders && key && PLAIN_HEADERS.has(key.toLowerCase())) return;
      if ((key && SECRET_KEYS.has(key)) || underHeaders) out.push(value);
      // `Bearer xyz`: the token alone is secret too.
      if (underHeaders && /^\S+\s+\S{4,}$/.test(value)) out.push(value.split(/\s+/)[1]!);
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) visit(item, undefined, underHeaders);
      return;
    }
    if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) visit(v, k, underHeaders || k === "headers");
    }
  };
  visit({ sources: config.sources, targets: config.targets, server: config.server }, undefined, false);
  const statePassword = stateUrlPassword(config.state.url);
  if (statePassword) out.push(statePassword, encodeURIComponent(statePassword));
  // A broker target's URL may carry a password (amqp://user:pass@…) or a token (nats://token@…).
  for (const target of config.targets) out.push(...urlCredentials(target.url));
  return out.filter((value) => value.length >= 4);
}

/** The password (or lone user token) of a URL, as written and decoded. */
function urlCredentials(url: string): string[] {
  try {
    const parsed = new URL(url);
    const secret = parsed.password || (parsed.username && !parsed.password && parsed.protocol !== "http:" && parsed.protocol !== "https:" ? parsed.username : "");
    return secret ? [secret, decodeURIComponent(secret)] : [];
  } catch {
    return [];
  }
}
