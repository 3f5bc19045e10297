import type { Document, LineCounter } from "yaml";
import { ConfigError } from "../errors.js";
import { formatPath, type ConfigPath } from "./interpolate.js";
import { FILE_KEYS } from "./schema.js";
import { location } from "./yaml-errors.js";

/**
 * Config problems: what each check reports (a config path and a message), and how the loader
 * presents them — one line per problem, in file order, with the line and column.
 */

export interface Problem {
  path: ConfigPath;
  /** Where to point in the file, when not at `path`. */
  at?: ConfigPath;
  message: string;
  code?: string;
  expected?: string;
  values?: readonly unknown[];
  input?: unknown;
}

export type PlainObject = Record<string, unknown>;
export const isPlainObject = (value: unknown): value is PlainObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** `count` is every problem found, when some are summed up in one line ("3 more YAML errors …"). */
export function configError(file: string, lines: string[], count = lines.length): ConfigError {
  const body = lines.length === 1 ? lines[0]! : `${count} problems:\n  - ${lines.join("\n  - ")}`;
  return new ConfigError(`${file}: ${body}`, lines);
}

const ALL_FILE_KEYS = new Set<string>(Object.values(FILE_KEYS).flat());

/** One line per problem, in file order: `path: message (line L, column C)`. */
export function describeAll(problems: readonly Problem[], doc: Document, lineCounter: LineCounter): string[] {
  const lines = problems.map((problem, index) => {
    const last = problem.path[problem.path.length - 1];
    const message =
      problem.message === "required" && typeof last === "string" && ALL_FILE_KEYS.has(last)
        ? `required (or ${last}_file)`
        : problem.message;
    const where = location(doc, problem.at ?? problem.path, lineCounter);
    return { text: `${formatPath(problem.path)}: ${message}${where ? ` (line ${where.line}, column ${where.col})` : ""}`, where, index };
  });
  const rank = (item: (typeof lines)[number]): number => (item.where ? item.where.line * 100_000 + item.where.col : 0);
  return lines.sort((a, b) => rank(a) - rank(b) || a.index - b.index).map((item) => item.text);
}

export function startsWith(path: ConfigPath, prefix: ConfigPath): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

/** What a value is, in words (never the value: it may be a secret). */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return "text";
  if (typeof value === "boolean") return "true/false";
  return `a ${typeof value}`;
}
