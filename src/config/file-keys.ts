import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { formatPath, type ConfigPath } from "./interpolate.js";
import { isPlainObject, type Problem } from "./problems.js";

/**
 * `K_file: path` → `K: <file text without trailing newlines>`. Exactly one of the two; an
 * empty `K` counts as absent (so `K: "${VAR:-}"` and `K_file` can coexist).
 */
export function resolveFileKeys(
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
