import type { z } from "zod";
import { didYouMean } from "../core/did-you-mean.js";
import { formatPath, type ConfigPath } from "./interpolate.js";
import { isPlainObject, kindOf, type Problem } from "./problems.js";

/**
 * zod's side of the loader: parse, flatten issues to config paths, coerce whole-`${VAR}` values,
 * and the messages for zod's built-in checks (schemas set their own where they know better).
 * None of the messages quotes the input: it may be a secret.
 */

export function parseWith<S extends z.ZodType>(
  schema: S,
  data: unknown,
  prefix: ConfigPath,
  wholeVariablePaths: Set<string>,
  problems: Problem[],
): z.output<S> | undefined {
  for (let round = 0; ; round++) {
    const result = schema.safeParse(data, { error: messageFor, reportInput: true });
    if (result.success) return result.data;
    const flat = flatten(result.error.issues, prefix);
    if (round >= 5 || !coerceWholeVariables(data, flat, prefix, wholeVariablePaths)) {
      problems.push(...flat);
      return undefined;
    }
  }
}

/**
 * A value that was exactly `${VAR}` arrives as text; where the schema wants a number or
 * true/false, convert it and parse again. Literal YAML text stays an error.
 */
function coerceWholeVariables(data: unknown, problems: Problem[], prefix: ConfigPath, whole: Set<string>): boolean {
  let changed = false;
  for (const problem of problems) {
    if (typeof problem.input !== "string" || !whole.has(formatPath(problem.path))) continue;
    const text = problem.input.trim();
    const wantsBoolean =
      problem.expected === "boolean" || (problem.code === "invalid_value" && problem.values?.some((value) => typeof value === "boolean"));
    let value: unknown;
    if (problem.expected === "number" && text !== "" && Number.isFinite(Number(text))) value = Number(text);
    else if (wantsBoolean && (text === "true" || text === "false")) value = text === "true";
    else continue;
    changed = setAt(data, problem.path.slice(prefix.length), value) || changed;
  }
  return changed;
}

function setAt(root: unknown, path: ConfigPath, value: unknown): boolean {
  let node = root;
  for (const segment of path.slice(0, -1)) {
    if (node === null || typeof node !== "object") return false;
    node = (node as Record<string | number, unknown>)[segment];
  }
  const last = path[path.length - 1];
  if (last === undefined || node === null || typeof node !== "object") return false;
  (node as Record<string | number, unknown>)[last] = value;
  return true;
}

function flatten(issues: readonly z.core.$ZodIssue[], prefix: ConfigPath): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment))];
    if (issue.code === "unrecognized_keys") {
      const messages = issue.message.split("\n");
      issue.keys.forEach((key, index) =>
        out.push(
          looksLikeKey(key)
            ? { path: [...path, key], message: messages[index] ?? "unknown key" }
            : { path, at: [...path, key], message: HIDDEN_KEY_MESSAGE },
        ),
      );
      continue;
    }
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Keep the branches that got past the type check: they describe what the user meant.
      const mapping = isPlainObject(issue.input);
      const meant = issue.errors.filter(
        (branch) =>
          !branch.some(
            (inner) => inner.path.length === 0 && (inner.code === "invalid_type" || (mapping && inner.code === "invalid_value")),
          ),
      );
      if (meant.length === 1) {
        out.push(...flatten(meant[0]!, path));
        continue;
      }
    }
    out.push({
      path,
      message: issue.message,
      code: issue.code,
      input: issue.input,
      ...(issue.code === "invalid_type" ? { expected: issue.expected } : {}),
      ...(issue.code === "invalid_value" ? { values: issue.values } : {}),
    });
  }
  return out;
}

const HIDDEN_KEY_MESSAGE =
  "unknown key that does not look like a config key (not shown: it may be a value, even a secret, that bad indentation or a missing colon made a key)";

/** Unknown keys are echoed only when they look like config keys: a misplaced secret can become a key. */
function looksLikeKey(key: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_-]{0,39}$/.test(key) && !(key.length >= 12 && /\d/.test(key));
}

const EXPECTED: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
  literal: "a fixed value",
};

function messageFor(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "required";
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${kindOf(issue.input)}`;
    case "too_small":
      if (issue.origin === "string" && Number(issue.minimum) === 1) return "must not be empty";
      if (issue.origin === "array") return `needs at least ${issue.minimum} item(s)`;
      return `must be ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "array" || issue.origin === "string") return `too long (at most ${issue.maximum})`;
      return `must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}`;
    case "invalid_value": {
      const options = issue.values.map((value) => JSON.stringify(value)).join(", ");
      const suggestion =
        typeof issue.input === "string" ? didYouMean(issue.input, issue.values.filter((v): v is string => typeof v === "string")) : undefined;
      return `expected ${issue.values.length === 1 ? options : `one of ${options}`}${suggestion ? `; did you mean "${suggestion}"?` : ""}`;
    }
    case "invalid_format":
      return "has the wrong format";
    case "unrecognized_keys":
      return issue.keys.map(() => "unknown key").join("\n");
    case "invalid_union":
      return "does not match any allowed form";
    case "invalid_key":
      return "invalid key";
    case "invalid_element":
      return "invalid element";
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
}
