import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { z } from "zod";
import { errorMessage } from "../errors.js";
import { scrub, scrubUrl } from "../telemetry/logger.js";
import { PLACEHOLDERS, renderTemplate, templateProblems } from "./template.js";
import type { ConnectionState, ConnectionStatus, OutgoingMessage, SendResult, TargetProblem, Transport, TransportDefinition, TransportOptions, TransportTarget } from "./types.js";

/** Helpers the broker transports share: one lazy connection, URL checks, results. */

/**
 * One connection, opened on the first send and again after it is lost: a failed open is not
 * cached, so the next attempt (after the retry policy's back-off) tries again. It keeps the
 * connection's state for `status`, the admin API and the UI: `idle` (nothing sent yet),
 * `connected`, `reconnecting` (lost, or the client is reconnecting by itself) or `down` (the
 * last open failed), with the last error (credentials removed).
 */
export class LazyConnection<C> {
  private current?: Promise<C>;
  /** The connection `current` resolved to, while it is current (a send takes it without waiting). */
  private ready?: C;
  private status: ConnectionStatus = { state: "idle", since: new Date().toISOString() };

  constructor(
    private readonly open: () => Promise<C>,
    private readonly shut: (connection: C) => Promise<void>,
  ) {}

  get(): Promise<C> {
    if (!this.current) {
      const opening = this.open();
      this.current = opening;
      opening.then(
        (connection) => {
          if (this.current !== opening) return;
          this.ready = connection;
          this.report("connected");
        },
        (error: unknown) => {
          if (this.current === opening) this.current = undefined;
          this.report("down", connectFailure(error));
        },
      );
    }
    return this.current;
  }

  /** The open connection, when there is one (no promise to wait for). */
  opened(): C | undefined {
    return this.ready;
  }

  /** Forgets `connection` (it was lost or broke: `why`); the next `get` opens a new one. */
  drop(connection?: C, why?: string): void {
    const current = this.current;
    if (!current) return;
    if (connection === undefined) {
      this.current = undefined;
      this.ready = undefined;
      this.report("reconnecting", why);
      return;
    }
    if (this.ready === connection) this.ready = undefined;
    void current.then(
      (value) => {
        if (value === connection && this.current === current) {
          this.current = undefined;
          this.ready = undefined;
          this.report("reconnecting", why);
        }
      },
      () => undefined,
    );
  }

  /** What the client says about its connection (a transport whose client reconnects by itself). */
  report(state: ConnectionState, error?: string): void {
    const lastError = error !== undefined ? scrub(scrubUrl(error)).slice(0, 512) : this.status.lastError;
    this.status = { state, since: state === this.status.state ? this.status.since : new Date().toISOString(), ...(lastError ? { lastError } : {}) };
  }

  /** The connection's state now. */
  state(): ConnectionStatus {
    return { ...this.status };
  }

  /** Closes the connection; one still opening is closed when it opens (without waiting for that). */
  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    this.ready = undefined;
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

const TLS_CODES = new Set([
  "EPROTO",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "HOSTNAME_MISMATCH",
]);

/** Whether an error code (Node's, which every client passes on) says the TLS handshake failed: unknown CA, expired or mismatched certificate, protocol. */
export function isTlsCode(code: string | undefined): boolean {
  return code !== undefined && (TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_") || code.startsWith("CERT_"));
}

/** The error's code, or that of the error it wraps (`cause`; node-redis: `socketError`). */
function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && typeof current === "object" && depth < 4; depth++) {
    const { code, cause, socketError } = current as { code?: unknown; cause?: unknown; socketError?: unknown };
    if (typeof code === "string") return code;
    current = socketError ?? cause;
  }
  return undefined;
}

const requireClient = createRequire(import.meta.url);

/**
 * A broker client package (CommonJS), loaded once per process, synchronously, when the first
 * target of its kind is made (the daemon's start): the first sends do not pay for it, and a
 * process without such targets never loads it. A failed load fails each send that waits for it.
 */
export function clientModule<M>(name: string): () => Promise<M> {
  let loaded: Promise<M> | undefined;
  return () => {
    if (!loaded) {
      try {
        loaded = Promise.resolve(requireClient(name) as M);
      } catch (error) {
        loaded = Promise.reject(error instanceof Error ? error : new Error(String(error)));
        // Settled by the sends that await it; not an unhandled rejection when none does.
        loaded.catch(() => undefined);
      }
    }
    return loaded;
  };
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
  const scrubbed = scrub(scrubUrl(reason));
  return {
    outcome,
    reason: scrubbed,
    latencyMs: Math.round(performance.now() - started),
    ...(response !== undefined ? { response: (response === reason ? scrubbed : scrub(scrubUrl(response))).slice(0, 512) } : {}),
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
 * The start of one broker send: the destination names rendered for this event (a name that is
 * invalid for it ends the attempt as a dead letter) and the connection, or the result that ends
 * the attempt.
 */
export async function beginSend<C>(
  connection: LazyConnection<C>,
  target: TransportTarget,
  templates: readonly DestinationTemplate[],
  message: OutgoingMessage,
  signal: AbortSignal,
): Promise<{ started: number; names: Record<string, string>; connection: C } | { result: SendResult }> {
  const started = performance.now();
  const names: Record<string, string> = {};
  for (const { key, invalid } of templates) {
    const rendered = renderTemplate(key, String(target[key]), message.event.envelope, invalid);
    if ("problem" in rendered) return { result: resultAfter(started, "dead", rendered.problem) };
    names[key] = rendered.name;
  }
  const open = await connectionFor(connection, target, started, signal);
  return "result" in open ? open : { started, names, connection: open.connection };
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
  const opened = connection.opened();
  if (opened !== undefined) return { connection: opened };
  try {
    return { connection: await withTimeout(connection.get(), target.timeout, `connecting to ${brokerDisplay(target.url, "")}`) };
  } catch (error) {
    return { result: resultAfter(started, "retry", `connection: ${connectFailure(error)}`) };
  }
}

/** Why a connection could not be opened, credentials removed; a failed TLS handshake says how to fix it. */
export function connectFailure(error: unknown): string {
  const code = errorCode(error);
  if (isTlsCode(code)) {
    return `TLS handshake failed: ${describe(error)} (${String(code)}); trust the broker's CA with tls.ca or tls.ca_file, or check the certificate's host name and dates`;
  }
  return describe(error);
}

/** A name check: `empty` when the name is empty, else the message of the first rule the name breaks. */
export function nameCheck(empty: string, rules: ReadonlyArray<readonly [(name: string) => boolean, string]>): (name: string) => string | undefined {
  return (name) => (name === "" ? empty : rules.find(([breaks]) => breaks(name))?.[1]);
}

/** A required destination template of a broker target (`subject`, `exchange`, `stream`…). */
export interface DestinationTemplate {
  key: string;
  /** What it is, for the config reference (the placeholders are added). */
  about: string;
  /** An example value, for the "required" message. */
  example: string;
  /** Why a rendered name is not allowed, or undefined. */
  invalid: (name: string) => string | undefined;
}

/** What a broker transport states besides its type, verb and summary; `brokerTransport` makes the definition. */
export interface BrokerKind {
  /**
   * URL schemes accepted, and an example URL. `tlsSchemes`: when set, `tls` is only used with
   * these (the client picks TLS by the scheme alone, so `tls` with another would be ignored).
   */
  url: { schemes: readonly string[]; example: string; tlsSchemes?: readonly string[] };
  /** Required destination templates, in the order they are shown. */
  templates: readonly DestinationTemplate[];
  /** Other keys of this transport. */
  fields?: Record<string, z.ZodType>;
  create(target: TransportTarget, templates: readonly DestinationTemplate[], options: TransportOptions): Transport;
}

/** A broker transport's definition: its URL and required templates checked without connecting, its destination shown without credentials. */
export function brokerTransport(type: string, verb: string, summary: string, kind: BrokerKind): TransportDefinition {
  const placeholders = PLACEHOLDERS.map((name) => `{${name}}`).join(", ");
  const fields: Record<string, z.ZodType> = {};
  for (const template of kind.templates) {
    fields[template.key] = z
      .string()
      .optional()
      .describe(`Only for type ${type} (required): ${template.about}, e.g. \`${template.example}\`; placeholders ${placeholders}.`);
  }
  return {
    type,
    summary,
    verb,
    fields: { ...fields, ...kind.fields },
    check(target) {
      const problems = brokerUrlProblems(target.url, kind.url.schemes, kind.url.example);
      const tlsSchemes = kind.url.tlsSchemes;
      const scheme = problems.length === 0 ? new URL(target.url).protocol.slice(0, -1) : undefined;
      if (target.tls && tlsSchemes && scheme && !tlsSchemes.includes(scheme)) {
        problems.push({ path: ["tls"], message: `needs the URL scheme ${tlsSchemes.map((s) => `${s}://`).join(" or ")}: with ${scheme}:// the connection is not encrypted and tls is not used` });
      }
      for (const { key, example, invalid } of kind.templates) {
        const template = target[key];
        if (template === undefined) problems.push({ path: [key], message: `required for type ${type} (e.g. ${example})` });
        else problems.push(...templateProblems(key, String(template), invalid));
      }
      return problems;
    },
    destination: (target) => brokerDisplay(target.url, kind.templates.map(({ key }) => `${key.replace("_", " ")} ${String(target[key])}`).join(" ")),
    create: (target, options) => kind.create(target, kind.templates, options),
  };
}

/**
 * What every broker transport does the same way: one lazy connection (its state for `status`),
 * the destination names rendered per event, and the connection found, before its own publish.
 */
export abstract class BrokerTransport<C, T extends TransportTarget = TransportTarget> implements Transport {
  protected readonly link: LazyConnection<C>;

  constructor(
    protected readonly target: T,
    private readonly templates: readonly DestinationTemplate[],
  ) {
    this.link = new LazyConnection(
      () => this.open(),
      (connection) => this.shut(connection),
    );
  }

  /** Opens a connection (throws when it cannot). */
  protected abstract open(): Promise<C>;
  protected abstract shut(connection: C): Promise<void>;
  /** Publishes one message with the destination names of its event (`subject`, `exchange`…). */
  protected abstract publish(connection: C, names: Record<string, string>, message: OutgoingMessage, started: number, signal: AbortSignal): Promise<SendResult>;

  async send(message: OutgoingMessage, signal: AbortSignal): Promise<SendResult> {
    const begun = await beginSend(this.link, this.target, this.templates, message, signal);
    if ("result" in begun) return begun.result;
    return this.publish(begun.connection, begun.names, message, begun.started, signal);
  }

  connection(): ConnectionStatus {
    return this.link.state();
  }

  close(): Promise<void> {
    return this.link.close();
  }
}
