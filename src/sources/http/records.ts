import { getPath } from "../../core/fingerprint.js";
import type { JsonObject, JsonValue, SourceRecord } from "../../core/types.js";
import { SourceError } from "../errors.js";

/** The array at a dotted path of a body (the body itself when no path); anything else is a fault. */
export function recordsAt(body: unknown, path: string | undefined, where: string): JsonObject[] {
  const found = path ? getPath(body as JsonValue, path) : body;
  if (!Array.isArray(found)) {
    const what = found === undefined ? "nothing" : found === null ? "null" : Array.isArray(found) ? "an array" : typeof found === "object" ? "an object" : typeof found;
    throw new SourceError(`${where}: expected an array of records${path ? ` at "${path}"` : ""}, got ${what}`, "shape");
  }
  for (const [index, item] of found.entries()) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      throw new SourceError(`${where}: record ${index} is not an object`, "shape");
    }
  }
  return found as JsonObject[];
}

/** Wraps vendor objects as records keyed by their id field (which must be present). */
export function toRecords(items: JsonObject[], idField: string, kind: string | null, where: string): SourceRecord[] {
  return items.map((data, index) => {
    const id = getPath(data, idField);
    if (id === undefined || id === null || id === "" || typeof id === "object") {
      throw new SourceError(`${where}: record ${index} has no "${idField}" (the id field)`, "shape");
    }
    return { kind, id: String(id), data };
  });
}
