import type { Clock } from "../../../clock.js";
import { registerSecrets, type Logger } from "../../../telemetry/logger.js";
import { AuthError, SourceError } from "../../errors.js";
import type { HttpClient, HttpRequest } from "../../http/client.js";
import { AccessTokenCache } from "../../http/token-cache.js";
import type { RateLimitGuard } from "./rate-limit.js";

/**
 * OAuth 2 client credentials for Fakturoid: `POST /api/v3/oauth/token` with HTTP Basic
 * `client_id:client_secret` and `{"grant_type": "client_credentials"}`. There is no refresh
 * token in this flow: a new token is fetched only when a request needs one and the cached one
 * is missing, about to expire (see `AccessTokenCache`), or was refused with a 401 (the HTTP
 * client then retries once). Token requests go through a client with the budget hook: they
 * count like every other request.
 */
export class FakturoidTokens {
  private readonly cache: AccessTokenCache;

  constructor(
    private readonly http: HttpClient,
    private readonly guard: RateLimitGuard,
    private readonly credentials: { clientId: string; clientSecret: string },
    clock: Clock,
    private readonly logger: Logger,
  ) {
    this.cache = new AccessTokenCache(clock);
  }

  /** Tokens fetched by this process (tests and logs). */
  get fetched(): number {
    return this.cache.fetched;
  }

  /** The HttpClient `authorize` hook: adds `Authorization: Bearer …`, fetching a token if needed. */
  async authorize(request: HttpRequest, retryAuth: boolean): Promise<void> {
    if (retryAuth) this.cache.invalidate();
    request.headers = { ...request.headers, authorization: `Bearer ${await this.cache.get(() => this.fetch())}` };
  }

  /** A 401 on an API request: the token is no longer good (the client renews once). */
  invalidate(): void {
    this.cache.invalidate();
  }

  private async fetch(): Promise<string> {
    const basic = Buffer.from(`${this.credentials.clientId}:${this.credentials.clientSecret}`).toString("base64");
    // A refusal may echo the Authorization header: the encoded pair is as secret as its parts.
    registerSecrets([basic]);
    let response;
    try {
      response = await this.guard.request(this.http, { method: "POST", url: "/oauth/token", headers: { authorization: `Basic ${basic}` }, json: { grant_type: "client_credentials" } });
    } catch (error) {
      if (error instanceof AuthError) {
        throw this.cache.refuse(new AuthError(`${error.message.replace(/ — check the credentials$/, "")} — Fakturoid refused client_id / client_secret`, "auth", error.details));
      }
      throw error;
    }
    const body = response.body as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof body?.access_token !== "string" || body.access_token === "") {
      throw new SourceError(`POST ${response.path}: the token answer has no access_token`, "shape", { path: response.path });
    }
    const lifetimeMs = (typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 7200) * 1000;
    registerSecrets([body.access_token]);
    this.cache.keep(body.access_token, lifetimeMs);
    this.logger.debug({ expiresInS: lifetimeMs / 1000 }, "fetched a Fakturoid access token");
    return body.access_token;
  }
}
