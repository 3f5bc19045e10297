/**
 * A synchronous evaluator for the common part of JSONata: paths of names (with an object
 * constructor as the last step, `lines.{…}`), literals, array and object constructors,
 * comparison, boolean, string, numeric and `in` operators, `? :`, and a few pure string and
 * number functions. The `jsonata` package evaluates every step as a promise, which costs about
 * 0.25 ms per event for a typical filter and transform; this costs a few microseconds.
 *
 * It follows the `jsonata` package's own evaluation (paths, sequences, singleton unwrapping,
 * grouping of object constructors) step by step for the nodes it knows. Anything else — another
 * node type or flag, a function it does not have, a value whose handling it does not copy
 * (a sequence where a scalar is expected), and every error — makes it give up (`GIVE_UP`), and
 * the caller evaluates with `jsonata` itself, whose answer (or error message) counts.
 * test/core/expressions-sync.test.ts compares both over a corpus of expressions and inputs.
 */

/** A compiled expression: the value, or `GIVE_UP` when `jsonata` must decide. */
export type SyncEvaluator = (input: unknown) => unknown;

export const GIVE_UP: unique symbol = Symbol("jsonata decides");

class GiveUp {}
const giveUp = new GiveUp();

function fail(): never {
  throw giveUp;
}

/** A JSONata AST node (the fields read here). */
interface Node {
  type: string;
  value?: unknown;
  position?: number;
  steps?: Node[];
  lhs?: Node | Node[][];
  rhs?: Node;
  expressions?: Node[];
  expression?: Node;
  arguments?: Node[];
  procedure?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
}

type Seq = unknown[] & { sequence?: boolean; keepSingleton?: boolean; cons?: boolean };

function sequence(...items: unknown[]): Seq {
  const out: Seq = items;
  out.sequence = true;
  return out;
}

const isSequence = (value: unknown): value is Seq => Array.isArray(value) && (value as Seq).sequence === true;

/** The keys each node type may have; a node with any other key (predicate, group, focus, …) is not compiled. */
const ALLOWED_KEYS: Record<string, readonly string[]> = {
  path: ["type", "steps"],
  name: ["type", "value", "position"],
  string: ["type", "value", "position"],
  number: ["type", "value", "position"],
  value: ["type", "value", "position"],
  binary: ["type", "value", "position", "lhs", "rhs"],
  unary: ["type", "value", "position", "lhs", "expressions", "expression"],
  function: ["type", "name", "value", "position", "arguments", "procedure"],
  variable: ["type", "value", "position"],
  condition: ["type", "position", "condition", "then", "else"],
  block: ["type", "position", "expressions"],
};

const BINARY = new Set(["=", "!=", "<", "<=", ">", ">=", "and", "or", "&", "in", "+", "-", "*", "/", "%"]);

type Compiled = (input: unknown) => unknown;

/** One-argument functions: [implementation, accepted argument types]. */
const UNARY_FUNCTIONS: Record<string, [(arg: never) => unknown, readonly string[]]> = {
  number: [toNumber as (arg: never) => unknown, ["number", "string", "boolean"]],
  string: [(arg: string | number | boolean | null) => toText(arg), ["string", "number", "boolean", "null"]],
  lowercase: [(arg: string) => arg.toLowerCase(), ["string"]],
  uppercase: [(arg: string) => arg.toUpperCase(), ["string"]],
  trim: [trim as (arg: never) => unknown, ["string"]],
  boolean: [toBoolean as (arg: never) => unknown, ["string", "number", "boolean", "null"]],
  not: [(arg: unknown) => !toBoolean(arg), ["string", "number", "boolean", "null"]],
};

const BINARY_FUNCTIONS: Record<string, (text: string, chars: string) => string | boolean> = {
  substringAfter: (text, chars) => {
    const at = text.indexOf(chars);
    return at > -1 ? text.slice(at + chars.length) : text;
  },
  substringBefore: (text, chars) => {
    const at = text.indexOf(chars);
    return at > -1 ? text.slice(0, at) : text;
  },
  contains: (text, chars) => text.includes(chars),
};

/**
 * Compiles an expression's AST, or returns undefined when it uses anything this evaluator does
 * not copy (then `jsonata` evaluates it every time).
 */
export function compileSync(ast: unknown): SyncEvaluator | undefined {
  let compiled: Compiled;
  try {
    compiled = compile(ast as Node);
  } catch (error) {
    if (error === giveUp) return undefined;
    throw error;
  }
  return (input) => {
    // `jsonata` wraps an array input in a sequence first; leave that to it.
    if (Array.isArray(input)) return GIVE_UP;
    try {
      return compiled(input);
    } catch (error) {
      if (error === giveUp) return GIVE_UP;
      // A stack overflow or anything unforeseen: `jsonata` decides (and reports).
      return GIVE_UP;
    }
  };
}

function checkKeys(node: Node): void {
  if (node === null || typeof node !== "object") fail();
  const allowed = ALLOWED_KEYS[node.type];
  if (!allowed) fail();
  for (const key of Object.keys(node)) if (!allowed.includes(key)) fail();
}

/** `evaluate` of the `jsonata` package: the node's value, then the sequence normalisation. */
function compile(node: Node): Compiled {
  const inner = compileNode(node);
  return (input) => normalise(inner(input));
}

function normalise(result: unknown): unknown {
  if (result !== undefined && result !== null && isSequence(result)) {
    if (result.length === 0) return undefined;
    if (result.length === 1) return result.keepSingleton ? result : result[0];
  }
  return result;
}

function compileNode(node: Node): Compiled {
  checkKeys(node);
  switch (node.type) {
    case "string":
    case "number":
    case "value": {
      const value = node.value;
      return () => value;
    }
    case "path":
      return compilePath(node);
    case "binary":
      return compileBinary(node);
    case "unary":
      return compileUnary(node);
    case "function":
      return compileFunction(node);
    case "condition": {
      const condition = compile(node.condition!);
      const then = compile(node.then!);
      const otherwise = node.else === undefined ? undefined : compile(node.else);
      return (input) => {
        if (toBoolean(condition(input))) return then(input);
        return otherwise ? otherwise(input) : undefined;
      };
    }
    case "block": {
      // `( … )` without variable bindings (`:=` is not compiled): every expression, the last one's value.
      if (!Array.isArray(node.expressions)) fail();
      const expressions = node.expressions.map((expression) => compile(expression));
      return (input) => {
        let result: unknown;
        for (const expression of expressions) result = expression(input);
        return result;
      };
    }
    default:
      return fail();
  }
}

/** Paths whose steps are names, the last one possibly an object constructor (`evaluatePath` and `evaluateStep`). */
function compilePath(node: Node): Compiled {
  const steps = node.steps;
  if (!Array.isArray(steps) || steps.length === 0) fail();
  const compiledSteps = steps.map((step, index) => {
    if (step.type === "name") {
      checkKeys(step);
      if (typeof step.value !== "string") fail();
      const key = step.value;
      return (item: unknown) => normalise(lookup(item, key));
    }
    if (index > 0 && index === steps.length - 1 && step.type === "unary" && step.value === "{") return compile(step);
    return fail();
  });
  return (input) => {
    let current: Seq = Array.isArray(input) ? (input as Seq) : sequence(input);
    let result: Seq | undefined;
    for (let index = 0; index < compiledSteps.length; index += 1) {
      result = step(compiledSteps[index]!, current, index === compiledSteps.length - 1);
      if (result.length === 0) break;
      current = result;
    }
    return result;
  };
}

function step(evaluate: Compiled, input: Seq, lastStep: boolean): Seq {
  const results: unknown[] = [];
  for (const item of input) {
    const value = evaluate(item);
    if (value !== undefined) results.push(value);
  }
  if (lastStep && results.length === 1 && Array.isArray(results[0]) && !isSequence(results[0])) return results[0] as Seq;
  const out = sequence();
  for (const value of results) {
    if (!Array.isArray(value) || (value as Seq).cons) out.push(value);
    else for (const element of value) out.push(element);
  }
  return out;
}

/** `$lookup` of the `jsonata` package. */
function lookup(input: unknown, key: string): unknown {
  if (Array.isArray(input)) {
    const out = sequence();
    for (const element of input) {
      const value = lookup(element, key);
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const inner of value) out.push(inner);
      else out.push(value);
    }
    return out;
  }
  if (input !== null && typeof input === "object" && Object.prototype.hasOwnProperty.call(input, key)) {
    functionLike(input);
    return (input as Record<string, unknown>)[key];
  }
  return undefined;
}

/** An object `jsonata` takes for a function (its own marker keys): it decides what that means. */
function functionLike(value: object): void {
  const marked = value as { _jsonata_function?: unknown; _jsonata_lambda?: unknown };
  if (marked._jsonata_function === true || marked._jsonata_lambda === true) fail();
}

function compileBinary(node: Node): Compiled {
  const op = node.value as string;
  if (!BINARY.has(op)) fail();
  const left = compile(node.lhs as Node);
  const right = compile(node.rhs!);
  switch (op) {
    case "and":
      return (input) => toBoolean(left(input)) && toBoolean(right(input));
    case "or":
      return (input) => toBoolean(left(input)) || toBoolean(right(input));
    case "=":
    case "!=":
      return (input) => {
        const a = left(input);
        const b = right(input);
        if (a === undefined || b === undefined) return false;
        return op === "=" ? deepEqual(a, b) : !deepEqual(a, b);
      };
    case "<":
    case "<=":
    case ">":
    case ">=":
      return (input) => compare(left(input), right(input), op);
    case "&":
      return (input) => concatText(left(input), right(input));
    case "in":
      return (input) => includes(left(input), right(input));
    default:
      return (input) => arithmetic(left(input), right(input), op);
  }
}

function compare(a: unknown, b: unknown, op: string): boolean | undefined {
  const ta = typeof a;
  const tb = typeof b;
  if (!(ta === "undefined" || ta === "string" || ta === "number") || !(tb === "undefined" || tb === "string" || tb === "number")) fail();
  if (a === undefined || b === undefined) return undefined;
  if (ta !== tb) fail();
  const x = a as number | string;
  const y = b as number | string;
  if (op === "<") return x < y;
  if (op === "<=") return x <= y;
  if (op === ">") return x > y;
  return x >= y;
}

function arithmetic(a: unknown, b: unknown, op: string): number | undefined {
  if (a !== undefined && !isNumber(a)) fail();
  if (b !== undefined && !isNumber(b)) fail();
  if (a === undefined || b === undefined) return undefined;
  const x = a as number;
  const y = b as number;
  const result = op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : op === "/" ? x / y : x % y;
  // Infinity or NaN: `jsonata` decides what that becomes.
  if (!Number.isFinite(result)) fail();
  return result;
}

function isNumber(value: unknown): value is number {
  if (typeof value !== "number" || Number.isNaN(value)) return false;
  if (!Number.isFinite(value)) fail();
  return true;
}

function includes(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return false;
  const list = Array.isArray(b) ? b : [b];
  for (const element of list) if (element === a) return true;
  return false;
}

function concatText(a: unknown, b: unknown): string {
  return (a === undefined ? "" : toText(a)) + (b === undefined ? "" : toText(b));
}

/** `$string` for what this evaluator produces: strings as they are, other JSON values stringified. */
function toText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail();
    return JSON.stringify(Number.isInteger(value) ? value : Number(value.toPrecision(15)));
  }
  if (typeof value === "boolean" || value === null) return JSON.stringify(value);
  // Objects and arrays: `jsonata`'s own stringification (number precision inside) decides.
  return fail();
}

/** `$boolean`; undefined is false (as `jsonata`'s `and`, `or` and `? :` take it). */
function toBoolean(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) {
    if (value.length === 1) return toBoolean(value[0]);
    return value.some((element) => toBoolean(element));
  }
  if (typeof value === "string") return value.length > 0;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail();
    return value !== 0 && !Number.isNaN(value);
  }
  if (typeof value === "boolean") return value;
  if (typeof value === "object") {
    functionLike(value);
    return Object.keys(value).length > 0;
  }
  return fail();
}

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$/.test(value)) {
    const parsed = parseFloat(value);
    if (!Number.isNaN(parsed) && Number.isFinite(Number(value))) return parsed;
  }
  if (value === true) return 1;
  if (value === false) return 0;
  // Hexadecimal and other forms, and the error for the rest: `jsonata` decides.
  return fail();
}

function trim(text: string): string {
  let out = text.replace(/[ \t\n\r]+/gm, " ");
  if (out.charAt(0) === " ") out = out.substring(1);
  if (out.charAt(out.length - 1) === " ") out = out.substring(0, out.length - 1);
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return false;
      for (let index = 0; index < a.length; index += 1) if (!deepEqual(a[index], b[index])) return false;
      return true;
    }
    if (Array.isArray(a) || Array.isArray(b)) return fail();
    const keysA = Object.getOwnPropertyNames(a);
    const keysB = Object.getOwnPropertyNames(b);
    if (keysA.length !== keysB.length) return false;
    for (const key of keysA) {
      if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
      if (!deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
    }
    return true;
  }
  return false;
}

function compileUnary(node: Node): Compiled {
  if (node.value === "-") {
    const inner = compile(node.expression!);
    return (input) => {
      const value = inner(input);
      if (value === undefined) return undefined;
      if (!isNumber(value)) fail();
      return -value;
    };
  }
  if (node.value === "[") {
    if (!Array.isArray(node.expressions)) fail();
    const items = node.expressions.map((item) => ({ nested: item.value === "[" && item.type === "unary", evaluate: compile(item) }));
    return (input) => {
      const out: unknown[] = [];
      for (const item of items) {
        const value = item.evaluate(input);
        if (value === undefined) continue;
        if (item.nested || !Array.isArray(value)) out.push(value);
        else for (const element of value) out.push(element);
      }
      return out;
    };
  }
  if (node.value === "{") {
    const pairs = node.lhs;
    if (!Array.isArray(pairs)) fail();
    const compiledPairs = (pairs as Node[][]).map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) fail();
      return { key: compile(pair[0]!), value: compile(pair[1]!) };
    });
    // `evaluateGroupExpression` over one item (the context object).
    return (input) => {
      if (Array.isArray(input)) fail();
      const keys: Array<string | undefined> = [];
      for (const pair of compiledPairs) {
        const key = pair.key(input);
        // `__proto__` would set a plain object's prototype: `jsonata` (which builds prototype-less objects) decides.
        if (key !== undefined && (typeof key !== "string" || key === "_jsonata_lambda" || key === "_jsonata_function" || key === "__proto__" || keys.includes(key))) fail();
        keys.push(key);
      }
      // A plain object (fast to fill and to serialise); its keys in the same order as `jsonata`'s.
      const out: Record<string, unknown> = {};
      for (let index = 0; index < compiledPairs.length; index += 1) {
        const key = keys[index];
        if (key === undefined) continue;
        const value = compiledPairs[index]!.value(input);
        if (value !== undefined) out[key] = value;
      }
      return out;
    };
  }
  return fail();
}

function compileFunction(node: Node): Compiled {
  const procedure = node.procedure;
  if (!procedure || procedure.type !== "variable" || typeof procedure.value !== "string") fail();
  checkKeys(procedure);
  const name = procedure.value;
  const args = (node.arguments ?? []).map((arg) => compile(arg));
  if (node.value !== "(") fail();
  if (name === "exists" && args.length === 1) return (input) => args[0]!(input) !== undefined;
  if (name === "keys" && args.length === 1) {
    return (input) => {
      const value = args[0]!(input);
      if (value === null || typeof value !== "object") return sequence();
      if (Array.isArray(value)) fail();
      functionLike(value);
      return sequence(...Object.keys(value));
    };
  }
  const unary = UNARY_FUNCTIONS[name];
  if (unary && args.length === 1) {
    const [implementation, accepts] = unary;
    return (input) => {
      const value = args[0]!(input);
      if (value === undefined) return undefined;
      if (!accepts.includes(value === null ? "null" : typeof value)) fail();
      return implementation(value as never);
    };
  }
  const binary = BINARY_FUNCTIONS[name];
  if (binary && args.length === 2) {
    return (input) => {
      const text = args[0]!(input);
      const chars = args[1]!(input);
      if (text === undefined) return undefined;
      if (typeof text !== "string" || typeof chars !== "string") fail();
      return binary(text, chars);
    };
  }
  return fail();
}
