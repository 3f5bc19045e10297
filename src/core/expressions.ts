import { createRequire } from "node:module";
import type jsonata from "jsonata";
import { compileSync, GIVE_UP, type SyncEvaluator } from "./expressions-sync.js";

/**
 * JSONata expressions of targets (`filter:` and `transform:`): compiled once per text, and
 * evaluated over an event's standard envelope with a time limit and a result-size limit.
 *
 * The time limit is JSONata's own guard (`timeout`), checked at every evaluation step: an
 * expression that loops or recurses for ever stops at the first step past the limit. One
 * built-in call that is slow by itself (a huge `$pad`) is not interrupted inside the call;
 * it is stopped at the next step, and its result by the size limit.
 *
 * Most filters and transforms (paths, comparisons, constructors, a few string and number
 * functions) are evaluated synchronously by expressions-sync.ts, without a promise per step;
 * that subset has no loops, functions or recursion, so its work is bounded by the envelope's
 * size, and the time limit is checked once it is done. Everything else, and every error, is
 * evaluated by `jsonata` with its guard as above.
 */

export interface ExpressionLimits {
  /** Evaluation time limit in ms. */
  timeoutMs: number;
  /** Largest result, as JSON text, in bytes. */
  maxBytes: number;
}

/** Defaults of `expression_limits`: 250 ms and 1 MiB. */
export const DEFAULT_EXPRESSION_LIMITS: ExpressionLimits = { timeoutMs: 250, maxBytes: 1_048_576 };

/** How deep evaluation may nest (non-tail recursion); JSONata's `stack` guard. */
const MAX_DEPTH = 1000;

/** A JSONata syntax error, with the line and column (1-based) inside the expression text. */
export class ExpressionSyntaxError extends Error {
  override name = "ExpressionSyntaxError";
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** An expression failed on one event: it threw, ran too long, returned too much or the wrong kind of value. */
export class ExpressionRuntimeError extends Error {
  override name = "ExpressionRuntimeError";
}

interface JsonataError {
  code?: string;
  position?: number;
  token?: string;
  message?: string;
  value?: unknown;
}

/** `jsonata`, loaded at the first compile: a daemon without filters or transforms never loads it (about 12 MB of memory). */
let jsonataModule: typeof jsonata | undefined;
const loadJsonata = (): typeof jsonata => (jsonataModule ??= createRequire(import.meta.url)("jsonata") as typeof jsonata);

const compiled = new Map<string, jsonata.Expression>();
/** The synchronous evaluator of each compiled expression; null when `jsonata` evaluates it every time. */
const synchronous = new WeakMap<jsonata.Expression, SyncEvaluator | null>();

/** Compiles (or returns the cached compilation of) an expression; throws `ExpressionSyntaxError`. */
export function compileExpression(text: string, limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS): jsonata.Expression {
  const key = `${limits.timeoutMs}\u001f${text}`;
  let expression = compiled.get(key);
  if (expression) return expression;
  try {
    expression = loadJsonata()(text, { timeout: limits.timeoutMs, stack: MAX_DEPTH });
  } catch (error) {
    throw syntaxError(text, error as JsonataError);
  }
  compiled.set(key, expression);
  return expression;
}

function syntaxError(text: string, error: JsonataError): ExpressionSyntaxError {
  // `position` is the 1-based offset of the last character of the offending token.
  const end = typeof error.position === "number" ? error.position : 0;
  const token = typeof error.token === "string" ? error.token : "";
  // An unfinished expression is reported just past its end.
  const start = token === "(end)" ? text.length : Math.max(0, Math.min(text.length, end - Math.max(token.length, 1)));
  const before = text.slice(0, start);
  const line = before.split("\n").length;
  const column = start - (before.lastIndexOf("\n") + 1) + 1;
  const message = `${error.message ?? "syntax error"}${error.code ? ` (${error.code})` : ""}`;
  return new ExpressionSyntaxError(message, line, column, error.code);
}

function synchronousOf(expression: jsonata.Expression): SyncEvaluator | null {
  let evaluator = synchronous.get(expression);
  if (evaluator === undefined) {
    evaluator = compileSync(expression.ast()) ?? null;
    synchronous.set(expression, evaluator);
  }
  return evaluator;
}

/**
 * Evaluates `text` over `input` without waiting when the synchronous evaluator can: the result
 * (possibly undefined: nothing matched), or `GIVE_UP` when `jsonata` must evaluate it.
 */
function evaluateNow(text: string, input: unknown, limits: ExpressionLimits): unknown {
  const evaluator = synchronousOf(compileExpression(text, limits));
  if (!evaluator) return GIVE_UP;
  const started = performance.now();
  const result = evaluator(input);
  if (result !== GIVE_UP && limits.timeoutMs > 0 && performance.now() - started > limits.timeoutMs) {
    throw new ExpressionRuntimeError(runtimeMessage({ code: "D1012" }, limits));
  }
  return result;
}

/** Evaluates `text` over `input` with `jsonata`; the result, possibly undefined (nothing matched). */
async function evaluateLater(text: string, input: unknown, limits: ExpressionLimits): Promise<unknown> {
  const expression = compileExpression(text, limits);
  try {
    return await expression.evaluate(input);
  } catch (error) {
    throw new ExpressionRuntimeError(runtimeMessage(error as JsonataError, limits));
  }
}

function runtimeMessage(error: JsonataError, limits: ExpressionLimits): string {
  if (error.code === "D1012") return `ran longer than the ${limits.timeoutMs} ms limit (stopped)`;
  if (error.code === "D1011") return `recursed deeper than ${MAX_DEPTH} levels (stopped); write recursive functions tail-recursively`;
  // `$error("…")`: the expression's own message says it all.
  if (error.code === "D3137" && error.message) return error.message;
  const where = typeof error.position === "number" ? ` at character ${error.position}` : "";
  return `${error.message ?? String(error)}${error.code ? ` (${error.code}${where})` : where}`;
}

/**
 * A filter's verdict: `true` passes; `false` or no result (nothing matched) filters the event
 * out; any other value is an error (a filter must say yes or no).
 */
export async function evaluateFilter(text: string, input: unknown, limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS): Promise<boolean> {
  const now = filterNow(text, input, limits);
  return now === GIVE_UP ? filterVerdict(await evaluateLater(text, input, limits)) : now;
}

/** `evaluateFilter` without waiting, or `GIVE_UP` when only `evaluateFilter` can tell. Throws `ExpressionRuntimeError`. */
export function filterNow(text: string, input: unknown, limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS): boolean | typeof GIVE_UP {
  const result = evaluateNow(text, input, limits);
  return result === GIVE_UP ? GIVE_UP : filterVerdict(result);
}

function filterVerdict(result: unknown): boolean {
  if (result === true) return true;
  if (result === false || result === undefined) return false;
  throw new ExpressionRuntimeError(`must return true or false, returned ${describeValue(result)}`);
}

/**
 * A transform's body: the result as JSON text (an object, array, string, number, boolean or
 * null). No result, a function, or more than `maxBytes` of JSON is an error.
 */
export async function evaluateTransform(text: string, input: unknown, limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS): Promise<string> {
  const now = transformNow(text, input, limits);
  return now === GIVE_UP ? transformBody(await evaluateLater(text, input, limits), limits) : now;
}

/** `evaluateTransform` without waiting, or `GIVE_UP` when only `evaluateTransform` can tell. Throws `ExpressionRuntimeError`. */
export function transformNow(text: string, input: unknown, limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS): string | typeof GIVE_UP {
  const result = evaluateNow(text, input, limits);
  return result === GIVE_UP ? GIVE_UP : transformBody(result, limits);
}

function transformBody(result: unknown, limits: ExpressionLimits): string {
  if (result === undefined) throw new ExpressionRuntimeError("returned nothing (no value matched); a transform must build a body");
  if (typeof result === "function") throw new ExpressionRuntimeError("returned a function, not JSON");
  let body: string | undefined;
  try {
    body = JSON.stringify(result);
  } catch (error) {
    throw new ExpressionRuntimeError(`returned a value that is not JSON (${(error as Error).message})`);
  }
  if (body === undefined) throw new ExpressionRuntimeError("returned a value that is not JSON");
  // A UTF-8 byte is at least one character: a text this short cannot be too large.
  if (body.length > limits.maxBytes / 3) {
    const bytes = Buffer.byteLength(body, "utf8");
    if (bytes > limits.maxBytes) throw new ExpressionRuntimeError(`returned ${bytes} bytes of JSON, more than the ${limits.maxBytes}-byte limit`);
  }
  return body;
}

export { GIVE_UP };

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
