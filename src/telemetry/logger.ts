import pino, { type Logger } from "pino";
import { createRequire } from "node:module";
import type PinoPretty from "pino-pretty";

export type { Logger };

const SECRET_QUERY = /([?&](?:api_token|token|access_token|auth_token|private_token|key|secret|password|passwd|apikey|api_key|appid|app_id|signature|sig|client_secret|oauth_token|refresh_token)=)[^&#\s"']*/gi;
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"']+@/gi;

/** Removes credentials from URLs inside any string (query tokens, user:pass@). */
export function scrubUrl(text: string): string {
  // Neither pattern can match without its "@" or "=": most texts (every delivered answer) skip both.
  const userinfo = text.includes("@");
  if (!userinfo && !text.includes("=")) return text;
  return (userinfo ? text.replace(USERINFO, "$1***@") : text).replace(SECRET_QUERY, "$1***");
}

/**
 * A target URL as `validate`, `status`, the admin API and the UI show it: the origin and a
 * redacted path (`https://hooks.slack.com/…`), since paths and queries often carry tokens
 * (Slack's `/services/T/B/X`, Telegram's `/bot<token>/`). Text that is not a URL is kept.
 */
export function redactedUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  try {
    const url = new URL(text);
    const hidden = url.pathname.length > 1 || url.search !== "";
    return `${url.protocol}//${url.host}${hidden ? "/…" : url.pathname}`;
  } catch {
    return scrubUrl(text);
  }
}

/** Replaces every occurrence of the given secret values in a string. */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  let out = scrubUrl(text);
  for (const secret of secrets) {
    if (secret && secret.length >= 4 && out.includes(secret)) out = out.split(secret).join("***");
  }
  return out;
}

const knownSecrets = new Set<string>();

/** Secret values from the config; every log line is scrubbed of them. */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const value of values) if (value && value.length >= 4) knownSecrets.add(value);
}

export function scrub(text: string): string {
  return scrubSecrets(text, knownSecrets);
}

export type LogFormat = "json" | "pretty";

/**
 * `RETROHOOK_LOG_FORMAT` (`json` or `pretty`), else pretty when stderr is a terminal and JSON
 * otherwise (files, pipes, containers' log drivers).
 */
export function logFormat(env: NodeJS.ProcessEnv = process.env, terminal = process.stderr.isTTY === true): LogFormat {
  const asked = env.RETROHOOK_LOG_FORMAT?.trim().toLowerCase();
  if (asked === "json" || asked === "pretty") return asked;
  return terminal ? "pretty" : "json";
}

/**
 * pino on stderr — JSON lines, or pino-pretty's lines for a terminal (see `logFormat`) — written
 * synchronously so the last line before an exit is never lost (pino-pretty as a stream in this
 * thread, not its worker transport). Level from `RETROHOOK_LOG_LEVEL` (default `info`). Every
 * string leaving is scrubbed of registered secrets and URL credentials, before formatting.
 */
/** pino-pretty, loaded when a logger writes pretty lines (a daemon logging JSON never loads it). */
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;

export function createLogger(options: { level?: string; name?: string; format?: LogFormat; destination?: pino.DestinationStream } = {}): Logger {
  const destination =
    options.destination ??
    ((options.format ?? logFormat()) === "pretty"
      ? loadPretty()({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: "SYS:HH:MM:ss.l", ignore: "name" })
      : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      name: options.name ?? "retrohook",
      level: options.level ?? process.env.RETROHOOK_LOG_LEVEL ?? "info",
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        streamWrite: (line) => scrub(line),
      },
    },
    destination,
  );
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
