import { createHash } from "node:crypto";
import type { Clock } from "../../../clock.js";
import { registerSecrets, type Logger } from "../../../telemetry/logger.js";
import { AuthError, SourceError } from "../../errors.js";
import type { HttpClient } from "../../http/client.js";
import { AccessTokenCache } from "../../http/token-cache.js";
import type { SourceSecrets } from "../../source.js";

/**
 * wFirma OAuth 2 with a refresh token: `POST /oauth2/token?oauth_version=2`, form-encoded
 * `grant_type=refresh_token`, `refresh_token`, `client_id`, `client_secret` (what public clients
 * send; wFirma documents the authorization-code flow, the token endpoint and Bearer +
 * `oauth_version=2`, not the refresh answer). The answer's `access_token` is used until shortly
 * before `expires_in` runs out (see `AccessTokenCache`; without `expires_in`, until wFirma
 * answers `AUTH`, then once renewed). A
 * `refresh_token` in the answer replaces the one used, which is then spent: it is stored in the
 * source's state before the access token is used, so a restart refreshes with it and not with
 * the one in the config. A different refresh token in the config (authorized again) wins over
 * the stored one. Tokens and the client secret are registered as secrets: never logged.
 * Facts: docs/vendors/wfirma.md.
 */
/** Name of the stored refresh token in the source's secrets. */
export const REFRESH_SECRET = "wfirma:oauth-refresh-token";

export interface WfirmaOAuth {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** A first access token (`oauth_token`), used until it expires or is refused. */
  accessToken?: string;
}

/** What is stored: the rotated token, and which configured token it descends from. */
interface Stored {
  from: string;
  token: string;
}

export class WfirmaTokens {
  private readonly cache: AccessTokenCache;

  constructor(
    private readonly http: HttpClient,
    private readonly oauth: WfirmaOAuth,
    clock: Clock,
    private readonly logger: Logger,
  ) {
    registerSecrets([oauth.clientSecret, oauth.refreshToken, oauth.accessToken, Buffer.from(oauth.clientSecret).toString("base64")]);
    this.cache = new AccessTokenCache(clock);
    if (oauth.accessToken) this.cache.keep(oauth.accessToken, undefined, false);
  }

  /** Tokens fetched by this process (tests and logs). */
  get fetched(): number {
    return this.cache.fetched;
  }

  /** The access token for the next request, refreshed first when it is missing or about to expire. */
  token(secrets: SourceSecrets | undefined, signal?: AbortSignal): Promise<string> {
    return this.cache.get(() => this.refresh(secrets, signal));
  }

  /** wFirma answered `AUTH` to a request with `value`: that token is no longer good. */
  invalidate(value: string): void {
    this.cache.invalidate(value);
  }

  /** The refresh token to use: the stored one when it descends from the configured one. */
  private current(secrets: SourceSecrets | undefined): string {
    const from = fingerprint(this.oauth.refreshToken);
    const raw = secrets?.get(REFRESH_SECRET);
    if (raw) {
      try {
        const stored = JSON.parse(raw) as Stored;
        if (stored.from === from && typeof stored.token === "string" && stored.token !== "") return stored.token;
      } catch {
        // An unreadable entry is ignored: the configured token is tried.
      }
    }
    return this.oauth.refreshToken;
  }

  private async refresh(secrets: SourceSecrets | undefined, signal?: AbortSignal): Promise<string> {
    if (!secrets) {
      // Outside a pass (retrohook doctor) a rotated refresh token could not be kept: the one
      // the passes use would be spent. Not refreshed.
      throw new SourceError("wFirma OAuth: not refreshed outside a pass (a rotated refresh token could not be kept in state); give oauth_token too to check with it, or run retrohook once", "vendor-error");
    }
    const refreshToken = this.current(secrets);
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: this.oauth.clientId, client_secret: this.oauth.clientSecret });
    const response = await this.http.request(
      { method: "POST", url: "/oauth2/token", query: { oauth_version: "2" }, headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: form.toString(), allow: [400, 401, 403] },
      signal,
    );
    const body = (typeof response.body === "object" && response.body !== null ? response.body : {}) as Record<string, unknown>;
    const where = `POST ${response.path}`;
    if (response.status >= 400 || (typeof body.access_token !== "string" && (body.error !== undefined || isObject(body.status)))) {
      // Only the vendor's error code is quoted: the answer may echo what was sent.
      const code = typeof body.error === "string" ? body.error : isObject(body.status) && typeof body.status.code === "string" ? body.status.code : `HTTP ${response.status}`;
      throw this.cache.refuse(new AuthError(
        `${where}: wFirma refused the OAuth refresh (${code.slice(0, 60)}) — the refresh token is spent or revoked, or client_id / client_secret are wrong; authorize the application again and put the new refresh token in oauth_refresh_token`,
        "auth",
        { path: response.path, status: response.status },
      ));
    }
    if (typeof body.access_token !== "string" || body.access_token === "") {
      throw new SourceError(`${where}: the token answer has no access_token`, "shape", { path: response.path });
    }
    const rotated = typeof body.refresh_token === "string" && body.refresh_token !== "" && body.refresh_token !== refreshToken ? body.refresh_token : undefined;
    registerSecrets([body.access_token, rotated]);
    if (rotated) {
      // Kept before the new access token is used: the old refresh token is spent now.
      await secrets.keep(REFRESH_SECRET, JSON.stringify({ from: fingerprint(this.oauth.refreshToken), token: rotated } satisfies Stored));
    }
    const lifetimeS = typeof body.expires_in === "number" ? body.expires_in : typeof body.expires_in === "string" && /^\d+$/.test(body.expires_in) ? Number(body.expires_in) : undefined;
    this.cache.keep(body.access_token, lifetimeS !== undefined ? lifetimeS * 1000 : undefined);
    this.logger.debug({ expiresInS: lifetimeS ?? null, rotated: rotated !== undefined }, "fetched a wFirma OAuth access token");
    return body.access_token;
  }
}

/** Which configured refresh token a stored one descends from, without storing the token itself twice. */
function fingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 16);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
