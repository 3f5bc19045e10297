import { INDEX_HTML } from "./page.js";
import { appScript } from "./bundle.js";
import { APP_CSS } from "./styles.js";

export { loginPage } from "./page.js";

export interface UiAsset {
  contentType: string;
  body: string;
}

/**
 * The UI's files: the page and the styles are strings in dist/; the script is the bundle of
 * ./app/ (./bundle.ts). Looked up by exact name: no request path ever reaches the file system.
 */
const ASSETS: ReadonlyMap<string, () => UiAsset> = new Map([
  ["index.html", () => ({ contentType: "text/html; charset=utf-8", body: INDEX_HTML })],
  ["app.js", () => ({ contentType: "text/javascript; charset=utf-8", body: appScript() })],
  ["app.css", () => ({ contentType: "text/css; charset=utf-8", body: APP_CSS })],
]);

export function uiAsset(name: string): UiAsset | undefined {
  return ASSETS.get(name)?.();
}

/** Only our own files run on the page; it cannot be framed. */
export const UI_SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
} as const;

/** The sign-in page carries its own small style block. */
export const LOGIN_SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
} as const;
