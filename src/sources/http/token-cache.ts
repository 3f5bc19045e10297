import type { Clock } from "../../clock.js";

/** An access token is renewed this long before it expires (or a quarter of its life for short-lived ones). */
export const RENEW_BEFORE_MS = 5 * 60_000;
/** After a token endpoint refused the credentials, it is not asked again for this long. */
export const REFUSED_MS = 60_000;

/**
 * One source's OAuth access token: the cached value until shortly before it expires, one
 * fetch at a time however many requests wait for it, and a refusal remembered for
 * `REFUSED_MS` so that a wrong secret costs one request a minute, not one per request. How a
 * token is fetched (grant, form, error wording) belongs to each vendor.
 */
export class AccessTokenCache {
  private access?: { value: string; expiresAt: number };
  private fetching?: Promise<string>;
  private refused?: { error: Error; until: number };
  /** Tokens fetched by this process (tests and logs). */
  fetched = 0;

  constructor(private readonly clock: Clock) {}

  /** The cached token, or the one `fetch` gets (shared by every caller while it runs). */
  get(fetch: () => Promise<string>): Promise<string> {
    if (this.access && this.clock.now() < this.access.expiresAt) return Promise.resolve(this.access.value);
    this.fetching ??= this.fetchUnlessRefused(fetch).finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  /**
   * A token to use: for `lifetimeMs` less the renewal margin, or until it is refused when the
   * vendor gave no lifetime (`undefined`).
   */
  keep(value: string, lifetimeMs: number | undefined, counted = true): void {
    const expiresAt = lifetimeMs !== undefined && lifetimeMs > 0 ? this.clock.now() + lifetimeMs - Math.min(RENEW_BEFORE_MS, lifetimeMs / 4) : Number.POSITIVE_INFINITY;
    this.access = { value, expiresAt };
    this.refused = undefined;
    if (counted) this.fetched += 1;
  }

  /** The vendor no longer accepts the token (all of them, or only `value` when given). */
  invalidate(value?: string): void {
    if (value === undefined || this.access?.value === value) this.access = undefined;
  }

  /** The token endpoint refused the credentials: `error` answers every fetch for `REFUSED_MS`. */
  refuse<E extends Error>(error: E): E {
    this.refused = { error, until: this.clock.now() + REFUSED_MS };
    return error;
  }

  private async fetchUnlessRefused(fetch: () => Promise<string>): Promise<string> {
    if (this.refused && this.refused.until > this.clock.now()) throw this.refused.error;
    return fetch();
  }
}
