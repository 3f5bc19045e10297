/**
 * YAML → validated, normalised `Config`.
 *
 * Steps: parse YAML (errors by line:column only: the line may hold a secret) → drop top-level
 * `x-*` keys (anchors for `<<` merges) → substitute `${VAR}` → read `K_file` secrets → pick each
 * source's schema by `preset` / `type` → parse → cross-check names → resolve the state path.
 * Every problem found is reported at once, one line per problem, each naming its config path.
 * Messages never echo a value that may be secret.
 *
 * This file holds the steps; each concern has its own module: yaml-errors.ts (YAML syntax
 * errors and line/column lookup), file-keys.ts (`K_file` secrets), source-kind.ts (which schema
 * a source gets), names.ts (duplicate and unknown names), zod-issues.ts (parsing and zod's
 * messages), problems.ts (the problem list and how it is presented).
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import { resolveTargetExpressions } from "./expressions.js";
import { resolveFileKeys } from "./file-keys.js";
import { interpolate, type ConfigPath } from "./interpolate.js";
import { checkNames } from "./names.js";
import { configError, describeAll, isPlainObject, startsWith, type PlainObject, type Problem } from "./problems.js";
import { configShellSchema, FILE_KEYS, SOURCE_SCHEMAS } from "./schema.js";
import { sourceKind } from "./source-kind.js";
import type { Config, SourceConfig } from "./types.js";
import { yamlProblems } from "./yaml-errors.js";
import { parseWith } from "./zod-issues.js";

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
  if (shell?.cluster && !/^postgres(ql)?:\/\//.test(shell.state.url)) {
    problems.push({
      path: ["cluster"],
      message: "replicas need PostgreSQL state (state.url: postgres://…); SQLite state is one process per file — remove `cluster`, or move the state with retrohook migrate-state",
    });
  }
  if (shell?.cluster) {
    const slowest = [...shell.targets].sort((a, b) => b.timeout - a.timeout)[0];
    if (slowest && shell.cluster.lease < 2 * slowest.timeout) {
      problems.push({
        path: ["cluster", "lease"],
        message: `must be at least twice the longest target timeout (target ${slowest.name}: ${slowest.timeout / 1000}s): a delivery must end before another replica can take its source over — raise cluster.lease or lower the target's timeout`,
      });
    }
  }

  const reported = [
    ...interpolated.issues,
    ...problems.filter((problem) => !blocked.some((path) => startsWith(problem.path, path))),
  ];
  if (reported.length > 0 || !shell) {
    throw configError(file, describeAll(reported, doc, lineCounter));
  }

  const config: Config = {
    path: file,
    state: { ...shell.state, url: resolveStateUrl(shell.state.url, folder) },
    server: shell.server,
    sources,
    targets: shell.targets,
    ...(shell.cluster ? { cluster: shell.cluster } : {}),
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
