/** What is wrong with an http(s) URL given in the config, or undefined when it is fine. */
export function httpUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "not a valid URL (expected http://… or https://…)";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http:// or https:// URL";
  if (url.username !== "" || url.password !== "") return "must not contain credentials (user:password@); use headers or the secret keys";
  if (url.hash !== "") return "must not contain a #fragment";
  return undefined;
}

/** Scheme, host and path of a URL, without credentials or query (either may hold a secret). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(unreadable URL)";
  }
}
