import { getPath } from "../core/fingerprint.js";
import type { JsonValue, RecordsOrigin, Snapshot } from "../core/types.js";
import { StateError } from "../errors.js";
import type { KvOp } from "./sqlite-kv.js";

/** How a snapshot is stored: `"<version>\t<fingerprint>\t<json>"` under `s/<source>/<resource>/<ref key>`. */
export function encodeSnapshot(snapshot: Snapshot): string {
  return `${snapshot.version}\t${snapshot.fingerprint}\t${snapshot.json}`;
}

export function decodeSnapshot(raw: string): Snapshot {
  const a = raw.indexOf("\t");
  const b = raw.indexOf("\t", a + 1);
  return { version: Number(raw.slice(0, a)), fingerprint: raw.slice(a + 1, b), json: raw.slice(b + 1) };
}

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

/** The rows of a silent baseline: first snapshots (version 1, no fingerprint). `prefix` is `<source>/<resource>/`. */
export function baselineOps(prefix: string, origin: RecordsOrigin, keys: readonly string[]): KvOp[] {
  const texts = baselineTexts(origin, keys.length, prefix);
  return keys.map((key, index) => ({ key: `s/${prefix}${key}`, value: encodeSnapshot({ version: 1, fingerprint: "", json: texts[index]! }) }));
}
