import { didYouMean } from "../core/did-you-mean.js";
import { isPlainObject, type PlainObject, type Problem } from "./problems.js";

/** Cross-checks on names, on the raw data (so one broken source does not hide the others). */

export function checkNames(data: PlainObject, problems: Problem[]): void {
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
