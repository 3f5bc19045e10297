/**
 * YAML → validated, normalised `Config`.
 *
 * Steps: parse YAML (errors by line:column only: the line may hold a secret) → drop top-level
 * `x-*` keys (anchors for `<<` merges) → substitute `${VAR}` → read `K_file` secrets → pick each
 * source's schema by `preset` / `type` → parse → cross-check names → resolve the state path.
 * Every problem found is reported at once, one line per problem, each naming its config path.
 * Messages never echo a value that may be secret.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type YAMLError } from "yaml";
import type { z } from "zod";
import { didYouMean } from "../core/did-you-mean.js";
import { ConfigError } from "../errors.js";
import { resolveTargetExpressions } from "./expressions.js";
import { formatPath, interpolate, type ConfigPath } from "./interpolate.js";
import {
  configShellSchema,
  FILE_KEYS,
  PRESET_NAMES,
  SOURCE_SCHEMAS,
  type SourceKind,
} from "./schema.js";
import type { Config, SourceConfig } from "./types.js";

export const CRON_QUOTE_HINT = 'quote cron strings: schedule: "*/1 * * * *"';

interface Problem {
  path: ConfigPath;
  /** Where to point in the file, when not at `path`. */
  at?: ConfigPath;
  message: string;
  code?: string;
  expected?: string;
  values?: readonly unknown[];
  input?: unknown;
}

type PlainObject = Record<string, unknown>;
const isPlainObject = (value: unknown): value is PlainObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------
// Public API

/** `-c/--config FILE`, else `$RETROHOOK_CONFIG`, else `./config.yaml`; `looked` lists where. */
export function findConfigPath(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
): { path: string; looked: string[] } {
  const chosen = explicit !== undefined && explicit !== "" ? explicit : env.RETROHOOK_CONFIG || "config.yaml";
  const path = resolve(chosen);
  return { path, looked: [path] };
}

/** Reads and parses the config file; throws `ConfigError` listing every problem. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(`${file}: cannot read the config file (${code})`);
  }
  return parseConfig(text, { path: file, env });
}

/** Parses config text; `path` names the file in errors and anchors relative paths. */
export function parseConfig(text: string, options: { path: string; env?: NodeJS.ProcessEnv }): Config {
  const file = resolve(options.path);
  const folder = dirname(file);
  const env = options.env ?? process.env;

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { merge: true, lineCounter, prettyErrors: false, uniqueKeys: true });
  const yamlIssues = yamlProblems(doc, text, lineCounter);
  if (yamlIssues.lines.length > 0) throw configError(file, yamlIssues.lines, yamlIssues.count);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch {
    throw configError(file, ["YAML aliases expand too much (or refer to themselves)"]);
  }
  if (raw === null || raw === undefined) {
    throw configError(file, ["the file is empty; expected a mapping with at least `sources:`"]);
  }
  if (!isPlainObject(raw)) throw configError(file, ["expected a mapping (key: value) at the top level"]);

  const problems: Problem[] = [];
  const withoutExtensions = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith("x-")));
  const interpolated = interpolate(withoutExtensions, env);
  const data = interpolated.value as PlainObject;
  const whole = interpolated.wholeVariablePaths;
  // Paths whose value is already reported as unusable: their schema errors would be noise.
  const blocked: ConfigPath[] = interpolated.issues.map((issue) => issue.path);

  resolveFileKeys(data.server, FILE_KEYS.server, ["server"], folder, problems, blocked, interpolated.fromEnvironment);
  resolveFileKeys(data.state, FILE_KEYS.state, ["state"], folder, problems, blocked, interpolated.fromEnvironment);
  if (Array.isArray(data.targets)) {
    data.targets.forEach((target: unknown, index) => {
      resolveFileKeys(target, FILE_KEYS.target, ["targets", index], folder, problems, blocked, interpolated.fromEnvironment);
      if (isPlainObject(target)) resolveFileKeys(target.tls, FILE_KEYS.tls, ["targets", index, "tls"], folder, problems, blocked, interpolated.fromEnvironment);
    });
  }

  const shell = parseWith(configShellSchema, data, [], whole, problems);

  const sources: SourceConfig[] = [];
  if (Array.isArray(data.sources)) {
    data.sources.forEach((source: unknown, index) => {
      const path = ["sources", index];
      const kind = sourceKind(source, path, problems);
      if (kind === undefined) return;
      resolveFileKeys(source, FILE_KEYS[kind], path, folder, problems, blocked, interpolated.fromEnvironment);
      const parsed = parseWith<z.ZodType<SourceConfig>>(SOURCE_SCHEMAS[kind], source, path, whole, problems);
      if (parsed) sources.push(parsed);
    });
  }

  checkNames(data, problems);
  if (shell) problems.push(...resolveTargetExpressions(data.targets, shell.targets, shell));

  const reported = [
    ...interpolated.issues,
    ...problems.filter((problem) => !blocked.some((path) => startsWith(problem.path, path))),
  ];
  if (reported.length > 0 || !shell) {
    throw configError(file, describeAll(reported, doc, lineCounter));
  }

  const config: Config = {
    path: file,
    state: { url: resolveStateUrl(shell.state.url, folder) },
    server: shell.server,
    sources,
    targets: shell.targets,
  };
  // Not enumerable: the config's own fields stay what the file says (printing, comparing).
  Object.defineProperty(config, "secrets", { value: [...interpolated.fromEnvironment], enumerable: false });
  return config;
}

/**
 * `sqlite://./data/x.sqlite` next to `/etc/retrohook/config.yaml` → `sqlite:///etc/retrohook/data/x.sqlite`
 * (`sqlite://` followed by the absolute path). `sqlite::memory:` is kept.
 */
export function resolveStateUrl(url: string, folder: string): string {
  if (url === "sqlite::memory:" || url === "sqlite://:memory:" || !url.startsWith("sqlite://")) return url;
  const file = url.slice("sqlite://".length);
  return `sqlite://${isAbsolute(file) ? file : resolve(folder, file)}`;
}

/** `count` is every problem found, when some are summed up in one line ("3 more YAML errors …"). */
function configError(file: string, lines: string[], count = lines.length): ConfigError {
  const body = lines.length === 1 ? lines[0]! : `${count} problems:\n  - ${lines.join("\n  - ")}`;
  return new ConfigError(`${file}: ${body}`, lines);
}

// ---------------------------------------------------------------------------------------------
// YAML

const YAML_MESSAGES: Record<string, string> = {
  TAB_AS_INDENT: "tabs are not allowed for indentation; use spaces",
  BAD_INDENT: "bad indentation",
  BAD_DQ_ESCAPE: "invalid escape sequence in a double-quoted string (use single quotes, or \\\\ for a backslash)",
  DUPLICATE_KEY: "duplicate key",
  MISSING_CHAR: "missing character: a closing quote or bracket, a comma, or a space after a colon",
  MULTILINE_IMPLICIT_KEY: "a key must fit on one line (a missing colon or closing quote?)",
  BLOCK_AS_IMPLICIT_KEY: "a block cannot be a key (a missing colon or bad indentation?)",
  BAD_SCALAR_START: "a plain value cannot start with this character; quote the value",
  TAG_RESOLVE_FAILED: "unknown YAML tag",
  MULTIPLE_DOCS: "only one YAML document is allowed (remove the --- line)",
  MULTIPLE_ANCHORS: "a node has more than one anchor",
  MULTIPLE_TAGS: "a node has more than one tag",
  ALIAS_PROPS: "an alias cannot have an anchor or tag",
  BAD_COLLECTION_TYPE: "a tag does not fit this kind of value",
  BAD_DIRECTIVE: "invalid YAML directive",
  BAD_PROP_ORDER: "anchors and tags must come after the ? or : indicator",
  KEY_OVER_1024_CHARS: "a key longer than 1024 characters",
  NON_STRING_KEY: "keys must be plain text",
  UNEXPECTED_TOKEN: "unexpected text here (check indentation, colons and quotes)",
};

function yamlMessage(error: YAMLError): string {
  if (error.code === "BAD_ALIAS" || (error.code === "UNEXPECTED_TOKEN" && /alias/i.test(error.message))) {
    return `"*" starts a YAML alias here; ${CRON_QUOTE_HINT}`;
  }
  return YAML_MESSAGES[error.code] ?? `YAML syntax error (${error.code})`;
}

/**
 * YAML errors as `line L, column C: …`, never quoting the source text. Only the first error is
 * shown in full: the rest usually follow from it.
 */
function yamlProblems(doc: Document, text: string, lineCounter: LineCounter): { lines: string[]; count: number } {
  const found: Array<{ line: number; col: number; message: string }> = [];
  for (const error of doc.errors) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    let message = yamlMessage(error);
    if (error.code !== "BAD_ALIAS" && !message.includes(CRON_QUOTE_HINT) && unquotedVariableInFlow(text, line)) {
      message += `; inside { … } or [ … ], quote values that hold \${VAR}: key: "\${VAR}"`;
    }
    found.push({ line, col, message });
  }
  if (found.length === 0) {
    visit(doc, {
      Alias(_, node) {
        if (!node.resolve(doc)) {
          const { line, col } = lineCounter.linePos(node.range?.[0] ?? 0);
          found.push({ line, col, message: `"*" starts a YAML alias but no anchor of that name is defined before it; ${CRON_QUOTE_HINT}` });
        }
      },
    });
  }
  const first = found[0];
  if (!first) return { lines: [], count: 0 };
  const lines = [`line ${first.line}, column ${first.col}: ${first.message}`];
  const rest = found.filter((item) => item.line !== first.line || item.message !== first.message);
  if (rest.length > 0) lines.push(`${rest.length} more YAML error${rest.length === 1 ? "" : "s"} after it, most likely caused by it`);
  return { lines, count: 1 + rest.length };
}

/** Does this line (or the one before) open a flow collection holding an unquoted `${`? */
function unquotedVariableInFlow(text: string, line: number): boolean {
  const lines = text.split(/\r?\n/);
  return [lines[line - 1], lines[line - 2]].some(
    (candidate) =>
      candidate !== undefined &&
      /[{[].*[:,[]\s*\$\{/.test(candidate.replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, '""')),
  );
}

/** Line and column of the deepest YAML node on `path` (merged or aliased values: their holder). */
function location(doc: Document, path: ConfigPath, lineCounter: LineCounter): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      if (item === undefined || item === null) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
    if (isAlias(node)) break;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  if (node !== null && typeof node === "object" && "range" in node) {
    const range = (node as { range?: unknown }).range;
    if (Array.isArray(range) && typeof range[0] === "number") return range[0];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Secrets from files

/**
 * `K_file: path` → `K: <file text without trailing newlines>`. Exactly one of the two; an
 * empty `K` counts as absent (so `K: "${VAR:-}"` and `K_file` can coexist).
 */
function resolveFileKeys(
  holder: unknown,
  keys: readonly string[],
  path: ConfigPath,
  folder: string,
  problems: Problem[],
  blocked: ConfigPath[],
  secrets: Set<string>,
): void {
  if (!isPlainObject(holder)) return;
  for (const key of keys) {
    const fileKey = `${key}_file`;
    const file = holder[fileKey];
    if (typeof file !== "string" || file === "") continue; // the schema reports a bad value
    if (holder[key] !== undefined && holder[key] !== "") {
      problems.push({
        path: [...path, fileKey],
        message: `give exactly one of ${formatPath([...path, key])} or ${formatPath([...path, fileKey])}`,
      });
      continue;
    }
    const absolute = resolve(folder, file);
    try {
      holder[key] = readFileSync(absolute, "utf8").replace(/[\r\n]+$/, "");
      secrets.add(holder[key] as string);
      delete holder[fileKey];
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      problems.push({ path: [...path, fileKey], message: `cannot read ${absolute} (${code})` });
      blocked.push([...path, key]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sources: pick the schema before parsing

const KIND_HINT = `"preset: ${PRESET_NAMES.join(" | ")}" for a vendor, or "type: rest" for a generic API`;

function sourceKind(source: unknown, path: ConfigPath, problems: Problem[]): SourceKind | undefined {
  if (!isPlainObject(source)) {
    problems.push({ path, message: `expected a mapping (a source with name and preset or type), got ${kindOf(source)}` });
    return undefined;
  }
  const hasPreset = source.preset !== undefined;
  const hasType = source.type !== undefined;
  if (hasPreset && hasType) {
    problems.push({ path, message: "give either preset (a vendor) or type: rest (a generic API), not both" });
    return undefined;
  }
  if (!hasPreset && !hasType) {
    problems.push({ path, message: `needs ${KIND_HINT}` });
    return undefined;
  }
  if (hasPreset) {
    const preset = source.preset;
    if (typeof preset === "string" && (PRESET_NAMES as readonly string[]).includes(preset)) return preset as SourceKind;
    problems.push({ path: [...path, "preset"], message: `${unknownName("preset", preset, PRESET_NAMES)}; valid presets: ${PRESET_NAMES.join(", ")} (or type: rest for a generic API)` });
    return undefined;
  }
  if (source.type === "rest") return "rest";
  if (typeof source.type === "string" && (PRESET_NAMES as readonly string[]).includes(source.type)) {
    problems.push({ path: [...path, "type"], message: `${source.type} is a preset: write preset: ${source.type} instead of type` });
  } else {
    problems.push({ path: [...path, "type"], message: `${unknownName("type", source.type, ["rest"])}; the only type is "rest" (vendors use preset: ${PRESET_NAMES.join(" | ")})` });
  }
  return undefined;
}

/** `unknown preset "fakturowna"; did you mean "fakturownia"?` (names only; these are not secret). */
function unknownName(what: string, value: unknown, valid: readonly string[]): string {
  if (typeof value !== "string") return `${what} must be text, got ${kindOf(value)}`;
  const shown = value.length <= 40 ? ` "${value}"` : "";
  const suggestion = didYouMean(value, valid);
  return `unknown ${what}${shown}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// Cross-checks on names (on the raw data, so one broken source does not hide the others)

function checkNames(data: PlainObject, problems: Problem[]): void {
  const sourceNames = namesOf(data.sources, "sources", "source", problems);
  namesOf(data.targets, "targets", "target", problems);
  if (!Array.isArray(data.targets)) return;
  const known = [...sourceNames];
  data.targets.forEach((target: unknown, index) => {
    if (!isPlainObject(target) || !Array.isArray(target.sources)) return;
    target.sources.forEach((name: unknown, position) => {
      if (typeof name !== "string" || sourceNames.has(name)) return;
      const suggestion = didYouMean(name, known);
      problems.push({
        path: ["targets", index, "sources", position],
        message: `unknown source "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ""} (sources: ${known.join(", ") || "none"})`,
      });
    });
  });
}

function namesOf(list: unknown, key: string, what: string, problems: Problem[]): Set<string> {
  const seen = new Map<string, number>();
  if (!Array.isArray(list)) return new Set();
  list.forEach((item: unknown, index) => {
    if (!isPlainObject(item) || typeof item.name !== "string" || item.name === "") return;
    const first = seen.get(item.name);
    if (first === undefined) seen.set(item.name, index);
    else problems.push({ path: [key, index, "name"], message: `duplicate ${what} name "${item.name}" (also ${key}[${first}])` });
  });
  return new Set(seen.keys());
}

// ---------------------------------------------------------------------------------------------
// zod: parse, flatten issues to paths, coerce whole-`${VAR}` values

function parseWith<S extends z.ZodType>(
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

const ALL_FILE_KEYS = new Set<string>(Object.values(FILE_KEYS).flat());

/** One line per problem, in file order: `path: message (line L, column C)`. */
function describeAll(problems: readonly Problem[], doc: Document, lineCounter: LineCounter): string[] {
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

function startsWith(path: ConfigPath, prefix: ConfigPath): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

// ---------------------------------------------------------------------------------------------
// Messages for zod's built-in checks (schemas set their own where they know better).
// None of them quotes the input: it may be a secret.

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

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return "text";
  if (typeof value === "boolean") return "true/false";
  return `a ${typeof value}`;
}

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
