/**
 * `state.url` as it may be shown: a password in it (postgres://user:PASSWORD@host/db) replaced
 * by `***`. Logs, `status`, `validate`, the admin API and errors show only this form.
 */
export function redactStateUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^@/?#]*@/i, "$1:***@");
}

/** The password in a `postgres://` state URL, for the secret scrubber; undefined when none. */
export function stateUrlPassword(url: string): string | undefined {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:([^@/?#]*)@/i.exec(url);
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

export type StateBackend = "sqlite" | "postgres";

export function stateBackend(url: string): StateBackend {
  return /^postgres(ql)?:\/\//i.test(url) ? "postgres" : "sqlite";
}
