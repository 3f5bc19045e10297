import { compileExpression, ExpressionSyntaxError } from "../core/expressions.js";
import type { ConfigPath } from "./interpolate.js";
import type { TargetConfig, TargetExpression } from "./types.js";

/**
 * Targets' `filter` and `transform`: `{use: NAME}` resolved against the top-level `expressions`,
 * every expression compiled (a syntax error is a config error naming the path, and the line and
 * column inside the expression), and the `expression_limits` attached.
 */

export interface ExpressionSettings {
  expressions?: Record<string, string>;
  expression_limits: { timeout: number; max_bytes: number };
}

const FIELDS = ["filter", "transform"] as const;

export function resolveTargetExpressions(
  rawTargets: unknown,
  targets: TargetConfig[],
  settings: ExpressionSettings,
): Array<{ path: ConfigPath; message: string }> {
  const problems: Array<{ path: ConfigPath; message: string }> = [];
  const limits = { timeoutMs: settings.expression_limits.timeout, maxBytes: settings.expression_limits.max_bytes };
  const named = settings.expressions ?? {};
  for (const [name, text] of Object.entries(named)) {
    const problem = syntaxProblem(text);
    if (problem) problems.push({ path: ["expressions", name], message: problem });
  }
  if (!Array.isArray(rawTargets)) return problems;
  targets.forEach((target, index) => {
    const raw: unknown = rawTargets[index];
    if (raw === null || typeof raw !== "object") return;
    for (const field of FIELDS) {
      const value = (raw as Record<string, unknown>)[field];
      if (value === undefined) continue;
      const path: ConfigPath = ["targets", index, field];
      let expression: TargetExpression;
      if (typeof value === "string") {
        const problem = syntaxProblem(value);
        if (problem) {
          problems.push({ path, message: problem });
          continue;
        }
        expression = { text: value.trim(), label: `targets[${index}].${field}`, limits };
      } else {
        const name = (value as { use?: unknown }).use;
        if (typeof name !== "string") continue; // the schema reported it
        const text = named[name];
        if (text === undefined) {
          const known = Object.keys(named);
          problems.push({ path: [...path, "use"], message: `no expression named "${name}" under expressions (defined: ${known.join(", ") || "none"})` });
          continue;
        }
        expression = { text: text.trim(), label: `expressions.${name}`, limits };
      }
      target[field] = expression;
    }
  });
  return problems;
}

function syntaxProblem(text: string): string | undefined {
  try {
    compileExpression(text.trim());
    return undefined;
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) {
      return `JSONata syntax error at line ${error.line}, column ${error.column} of the expression: ${error.message}`;
    }
    throw error;
  }
}
