import { readFileSync } from "node:fs";
import { errorMessage } from "../errors.js";
import { scrub, scrubUrl } from "../telemetry/logger.js";
import type { SendResult, TargetProblem } from "./types.js";

/** Helpers the broker transports share: one lazy connection, URL checks, results. */

/**
 * One connection, opened on the first send and again after it is lost: a failed open is not
 * cached, so the next attempt (after the retry policy's back-off) tries again.
 */
export class LazyConnection<C> {
  private current?: Promise<C>;

  constructor(
    private readonly open: () => Promise<C>,
    private readonly shut: (connection: C) => Promise<void>,
  ) {}

  get(): Promise<C> {
    if (!this.current) {
      const opening = this.open();
      this.current = opening;
      opening.catch(() => {
        if (this.current === opening) this.current = undefined;
      });
    }
    return this.current;
  }

  /** Forgets `connection` (it was lost or broke); the next `get` opens a new one. */
  drop(connection?: C): void {
    const current = this.current;
    if (!current) return;
    if (connection === undefined) {
      this.current = undefined;
      return;
    }
    void current.then(
      (value) => {
        if (value === connection && this.current === current) this.current = undefined;
      },
      () => undefined,
    );
  }

  /** Closes the connection; one still opening is closed when it opens (without waiting for that). */
  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (!current) return;
    const closing = current.then(
      (connection) => this.shut(connection).catch(() => undefined),
      () => undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closing, new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
    clearTimeout(timer);
  }
}

/** Problems of a broker URL: parseable, one of `schemes`, no fragment. Credentials are allowed (they are secrets). */
export function brokerUrlProblems(url: string, schemes: readonly string[], example: string): TargetProblem[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [{ path: ["url"], message: `not a valid URL (expected ${example})` }];
  }
  if (!schemes.includes(parsed.protocol.slice(0, -1))) {
    return [{ path: ["url"], message: `must be a ${schemes.map((scheme) => `${scheme}://`).join(" or ")} URL, like ${example}` }];
  }
  if (!parsed.hostname) return [{ path: ["url"], message: `has no host (expected ${example})` }];
  if (parsed.hash !== "") return [{ path: ["url"], message: "must not contain a #fragment" }];
  return [];
}

/** `scheme://host:port/path`, without credentials. */
export function brokerDisplay(url: string, extra: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname} ${extra}`;
  } catch {
    return `(unreadable URL) ${extra}`;
  }
}

/** `tls.ca` is PEM text, or the path of a PEM file. */
export function caOf(tls: { ca: string } | undefined): string | undefined {
  if (!tls) return undefined;
  return tls.ca.includes("-----BEGIN") ? tls.ca : readFileSync(tls.ca, "utf8");
}

/** A result with the time since `started` (performance.now()). */
export function resultAfter(started: number, outcome: SendResult["outcome"], reason: string, response?: string): SendResult {
  return {
    outcome,
    reason: scrub(scrubUrl(reason)),
    latencyMs: Math.round(performance.now() - started),
    ...(response !== undefined ? { response: scrub(scrubUrl(response)).slice(0, 512) } : {}),
  };
}

/** A thrown error as reason text, credentials removed. */
export function describe(error: unknown): string {
  return scrubUrl(errorMessage(error));
}

/** Rejects after `ms` with `what` timed out, unless `work` settles first. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: no answer to ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The connection for one send, or the result that ends the attempt: stopping (aborted) or no
 * connection within the target's timeout (retried).
 */
export async function connectionFor<C>(
  connection: LazyConnection<C>,
  target: { url: string; timeout: number },
  started: number,
  signal: AbortSignal,
): Promise<{ connection: C } | { result: SendResult }> {
  if (signal.aborted) return { result: { ...resultAfter(started, "retry", "aborted: delivery is stopping"), aborted: true } };
  try {
    return { connection: await withTimeout(connection.get(), target.timeout, `connecting to ${brokerDisplay(target.url, "")}`) };
  } catch (error) {
    return { result: resultAfter(started, "retry", `connection: ${describe(error)}`) };
  }
}
