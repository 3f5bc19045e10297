/**
 * `${VAR}` and `${VAR:-default}` in string values, substituted after YAML parsing so a variable
 * can never add YAML structure. `$${` is a literal `${`. `:-` uses the default when the variable
 * is unset or empty (as in sh). Defaults cannot nest other variables.
 */

import { isSecretPath } from "./secrets.js";

export type ConfigPath = ReadonlyArray<string | number>;

export interface PathIssue {
  path: ConfigPath;
  message: string;
}

export interface Interpolated {
  value: unknown;
  issues: PathIssue[];
  /** Paths (see `formatPath`) whose whole value was one `${VAR}`: the loader may turn these
   *  into the number or boolean the schema wants. */
  wholeVariablePaths: Set<string>;
  /** Every value taken from the environment (not a `:-default` written in the file): secrets,
   *  wherever they land (a query value, a path, a URL, a header). */
  fromEnvironment: Set<string>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

/** `["sources", 1, "resources", 0, "cursor"]` → `sources[1].resources[0].cursor`. */
export function formatPath(path: ConfigPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === "" ? "(top level)" : out;
}

export function interpolate(value: unknown, env: NodeJS.ProcessEnv): Interpolated {
  const issues: PathIssue[] = [];
  const wholeVariablePaths = new Set<string>();
  const fromEnvironment = new Set<string>();

  const visit = (node: unknown, path: ConfigPath): unknown => {
    if (typeof node === "string") {
      if (WHOLE.test(node)) wholeVariablePaths.add(formatPath(path));
      return substitute(node, env, (message) => issues.push({ path, message }), secretKeyOf(path), (found) => fromEnvironment.add(found));
    }
    if (Array.isArray(node)) return node.map((item, index) => visit(item, [...path, index]));
    if (node !== null && typeof node === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) out[key] = visit(item, [...path, key]);
      return out;
    }
    return node;
  };

  return { value: visit(value, []), issues, wholeVariablePaths, fromEnvironment };
}

/** Substitutes one string. Problems are reported by variable name only, never by value. */
export function substitute(text: string, env: NodeJS.ProcessEnv, report: (message: string) => void, secretKey?: string, taken: (value: string) => void = () => undefined): string {
  let out = "";
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf("$", index);
    if (dollar === -1) {
      out += text.slice(index);
      break;
    }
    out += text.slice(index, dollar);
    if (text.startsWith("$${", dollar)) {
      out += "${";
      index = dollar + 3;
      continue;
    }
    if (!text.startsWith("${", dollar)) {
      out += "$";
      index = dollar + 1;
      continue;
    }
    const close = text.indexOf("}", dollar + 2);
    if (close === -1) {
      report('unterminated "${" (write "$${" for a literal "${")');
      return out;
    }
    const inner = text.slice(dollar + 2, close);
    const separator = inner.indexOf(":-");
    const name = separator === -1 ? inner : inner.slice(0, separator);
    const fallback = separator === -1 ? undefined : inner.slice(separator + 2);
    index = close + 1;
    if (!NAME.test(name)) {
      report('invalid variable name in "${...}": use letters, digits and _, not starting with a digit (write "$${" for a literal "${")');
      continue;
    }
    const found = env[name];
    if (found !== undefined && !(fallback !== undefined && found === "")) {
      out += found;
      taken(found);
    }
    else if (fallback !== undefined) out += fallback;
    else report(unsetVariable(name, secretKey));
  }
  return out;
}

function secretKeyOf(path: ConfigPath): string | undefined {
  if (!isSecretPath(path)) return undefined;
  return path.includes("headers") ? "headers" : String(path[path.length - 1]);
}

/** A secret gets no "use a default" hint: a default secret written in a config file is a leaked secret. */
function unsetVariable(name: string, secretKey: string | undefined): string {
  if (secretKey === "headers") return `environment variable ${name} is not set; export it (it holds a secret: no default)`;
  if (secretKey !== undefined) return `environment variable ${name} is not set; export it, or give ${secretKey}_file (a file holding the secret) instead of ${secretKey}`;
  return `environment variable ${name} is not set (use \${${name}:-default} for a default)`;
}
