/**
 * Why a source request or pass failed. Each names the source, resource and URL path (no
 * credentials). `scope` says what it suspends: 401 the source, 403 the resource.
 */
export type SourceFaultCause =
  | "http"
  | "timeout"
  | "connection"
  | "redirect"
  | "not-json"
  | "truncated"
  | "too-large"
  | "shape"
  | "empty"
  | "pagination-loop"
  | "pass-bound"
  | "incomplete"
  | "vendor-error"
  | "auth"
  | "forbidden"
  | "rate-limited"
  | "budget"
  | "backoff"
  | "suspended";

export class SourceError extends Error {
  override name = "SourceError";
  constructor(
    message: string,
    readonly fault: SourceFaultCause,
    readonly details: { status?: number; path?: string; retryAfterMs?: number; untilMs?: number } = {},
  ) {
    super(message);
  }
}

/** 401 or a vendor "bad credentials" answer: the whole source is suspended until the config changes or reset. */
export class AuthError extends SourceError {
  override name = "AuthError";
}

/** 403: this resource is suspended until the config changes or reset. */
export class ForbiddenError extends SourceError {
  override name = "ForbiddenError";
}
