import { getPath } from "../../core/fingerprint.js";
import type { JsonObject, JsonValue, SourceRecord } from "../../core/types.js";
import { SourceError } from "../errors.js";
import type { HttpResponse } from "./client.js";
import { isInexact } from "./json-body.js";

/**
 * The array at a dotted path of a body (the body itself when no path); anything else is a fault.
 * `recordsKey`: the path is the user's `records:` setting, so an object answer names the keys
 * that do hold arrays (`records: data`).
 */
export function recordsAt(body: unknown, path: string | undefined, where: string, recordsKey = false): JsonObject[] {
  const found = path ? getPath(body as JsonValue, path) : body;
  if (!Array.isArray(found)) {
    const what = found === undefined ? "nothing" : found === null ? "null" : typeof found === "object" ? "an object" : typeof found;
    const hint = recordsKey ? recordsKeyHint(path ? body : found, path) : "";
    throw new SourceError(`${where}: expected an array of records${path ? ` at "${path}"` : ""}, got ${what}${hint}`, "shape");
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

/** Dotted paths (two levels deep at most) of the arrays in a body; arrays of objects (records) first. */
function arrayPaths(value: unknown, prefix = "", depth = 0): Array<{ path: string; records: boolean }> {
  if (value === null || typeof value !== "object" || Array.isArray(value) || depth > 1) return [];
  const out: Array<{ path: string; records: boolean }> = [];
  for (const [key, item] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(item)) out.push({ path, records: item.length > 0 && item.every((element) => element !== null && typeof element === "object" && !Array.isArray(element)) });
    else out.push(...arrayPaths(item, path, depth + 1));
  }
  return out;
}

function recordsKeyHint(body: unknown, configured: string | undefined): string {
  const found = arrayPaths(body).filter((item) => item.path !== configured);
  const paths = [...found.filter((item) => item.records), ...found.filter((item) => !item.records)].map((item) => item.path);
  if (paths.length === 0) return "";
  const shown = paths.slice(0, 5).map((path) => `"${path}"`).join(", ");
  return ` — the body is an object; set the resource's \`records: ${paths[0]}\` to the key that holds the records (keys holding arrays: ${shown}${paths.length > 5 ? ", …" : ""})`;
}

/**
 * The records of a list response (the array at `path`), keyed by `idField`. When an id (or one
 * of `exactFields`, e.g. the cursor field) came out of `JSON.parse` as an integer beyond 2^53 —
 * rounded, so two records could share it — the body is read again exactly (`exact: true`: the
 * records are then no plain parse of the bytes).
 */
export function responseRecords(
  response: Pick<HttpResponse, "body" | "exactBody">,
  path: string | undefined,
  idField: string,
  kind: string | null,
  where: string,
  exactFields: readonly string[] = [],
  recordsKey = false,
): { records: SourceRecord[]; exact: boolean } {
  const items = recordsAt(response.body, path, where, recordsKey);
  if (!items.some((item) => isInexact(getPath(item, idField)) || exactFields.some((field) => isInexact(getPath(item, field))))) {
    return { records: toRecords(items, idField, kind, where), exact: false };
  }
  return { records: toRecords(recordsAt(response.exactBody(), path, where, recordsKey), idField, kind, where), exact: true };
}
