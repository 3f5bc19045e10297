import { getPath } from "../core/fingerprint.js";
import type { JsonValue, RecordsOrigin } from "../core/types.js";
import { StateError } from "../errors.js";

/**
 * The texts of a silent baseline of `count` records: the JSON of each element of the origin's
 * array — the text change detection would have stored, since the records are those elements
 * untouched. `where` names the resource in the error when the array is not what was promised.
 */
export function baselineTexts(origin: RecordsOrigin, count: number, where: string): string[] {
  const text = Buffer.from(origin.bytes.buffer, origin.bytes.byteOffset, origin.bytes.byteLength).toString("utf8");
  const body = JSON.parse(text) as JsonValue;
  const items = origin.path ? getPath(body, origin.path) : body;
  if (!Array.isArray(items) || items.length !== count) {
    const found = Array.isArray(items) ? `${items.length} elements` : "no array";
    throw new StateError(`baseline of ${where}: ${count} records to write, ${found} at ${origin.path ? `"${origin.path}"` : "the body"} of their response`);
  }
  return items.map((item) => JSON.stringify(item));
}
