import { stateUrlPassword } from "../store/url.js";
import type { Config } from "./types.js";

const SECRET_KEYS = new Set([
  "api_token", "token", "client_id", "client_secret", "access_key", "secret_key", "app_key", "oauth_token", "oauth_refresh_token", "refresh_token", "secret", "admin_token",
  // Names vendors give keys in query strings and bodies (a `rest` source's `query: {key: …}`).
  "key", "api_key", "apikey", "appid", "app_id", "private_token", "access_token", "auth_token", "signature", "sig", "password", "passwd",
]);

/** Headers that describe the request, never credentials: scrubbing their values would only blank words. */
const PLAIN_HEADERS = new Set(["accept", "accept-encoding", "accept-language", "content-type", "user-agent", "cache-control"]);

/**
 * A value from `${VAR}` or a `*_file`, as it may appear in text: itself (URL-encoded too) and,
 * when it is a URL, its path and each query value (they carry tokens: Slack's
 * `/services/T/B/X`, Telegram's `/bot<token>/`), so a log of the path alone is scrubbed too.
 * Words any text holds (`true`, short numbers) are left out: scrubbing them would only blank text.
 */
function secretForms(value: string): string[] {
  if (/^(true|false|yes|no|null)$/i.test(value) || /^\d{1,5}$/.test(value)) return [];
  const forms = [value, encodeURIComponent(value)];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const url = new URL(value);
      if (url.pathname.length > 1) forms.push(url.pathname, ...url.pathname.split("/").filter((segment) => segment.length >= 8));
      for (const query of url.searchParams.values()) forms.push(query, encodeURIComponent(query));
    } catch {
      // not a URL after all: the value itself is enough
    }
  }
  return forms;
}

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
  for (const value of config.secrets ?? []) out.push(...secretForms(value));
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
