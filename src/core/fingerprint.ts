import { hash } from "node:crypto";
import type { JsonObject, JsonValue } from "./types.js";

/** Value at a dotted path (`buyer.address.city`); undefined when any step is missing. */
export function getPath(record: JsonValue | undefined, path: string): JsonValue | undefined {
  // The common case, a top-level field, without splitting the path (called per record per pass).
  if (!path.includes(".")) return record !== null && typeof record === "object" && !Array.isArray(record) ? record[path] : undefined;
  let current: JsonValue | undefined = record;
  for (const step of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = current[step];
  }
  return current;
}

/** A copy of the record without the ignored (dotted) fields; the record itself when none apply. */
export function withoutFields(record: JsonObject, ignore: readonly string[]): JsonObject {
  if (ignore.length === 0) return record;
  const copy = structuredClone(record);
  for (const path of ignore) {
    const steps = path.split(".");
    let parent: JsonValue | undefined = copy;
    for (const step of steps.slice(0, -1)) {
      parent = parent && typeof parent === "object" && !Array.isArray(parent) ? parent[step] : undefined;
    }
    if (parent && typeof parent === "object" && !Array.isArray(parent)) delete parent[steps[steps.length - 1]!];
  }
  return copy;
}

/**
 * Fingerprint of a record's JSON text. Key order is the vendor's; when two fingerprints differ
 * the detector compares the parsed records (`deepEqual`) before calling it a change, so a
 * reordered response never makes an `updated` event.
 */
export function fingerprintOf(json: string): string {
  return hash("sha1", json, "base64url");
}

export function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((value, i) => deepEqual(value, b[i]));
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const keys = Object.keys(ao);
  if (keys.length !== Object.keys(bo).length) return false;
  return keys.every((key) => Object.hasOwn(bo, key) && deepEqual(ao[key], bo[key]));
}

/** Previous values of the top-level keys that differ (`null` for keys the new record added). */
export function previousValues(previous: JsonObject, current: JsonObject, ignore: readonly string[]): JsonObject {
  const out: JsonObject = {};
  const ignored = new Set(ignore);
  for (const key of new Set([...Object.keys(previous), ...Object.keys(current)])) {
    if (ignored.has(key)) continue;
    if (!deepEqual(previous[key], current[key])) out[key] = Object.hasOwn(previous, key) ? previous[key]! : null;
  }
  return out;
}
