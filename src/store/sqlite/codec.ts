import type { RecordsOrigin, Snapshot } from "../../core/types.js";
import { baselineTexts } from "../snapshot-codec.js";
import type { KvOp } from "./kv.js";

/** How a snapshot is stored: `"<version>\t<fingerprint>\t<json>"` under `s/<source>/<resource>/<ref key>`. */
export function encodeSnapshot(snapshot: Snapshot): string {
  return `${snapshot.version}\t${snapshot.fingerprint}\t${snapshot.json}`;
}

export function decodeSnapshot(raw: string): Snapshot {
  const a = raw.indexOf("\t");
  const b = raw.indexOf("\t", a + 1);
  return { version: Number(raw.slice(0, a)), fingerprint: raw.slice(a + 1, b), json: raw.slice(b + 1) };
}

/** The rows of a silent baseline: first snapshots (version 1, no fingerprint). `prefix` is `<source>/<resource>/`. */
export function baselineOps(prefix: string, origin: RecordsOrigin, keys: readonly string[]): KvOp[] {
  const texts = baselineTexts(origin, keys.length, prefix);
  return keys.map((key, index) => ({ key: `s/${prefix}${key}`, value: encodeSnapshot({ version: 1, fingerprint: "", json: texts[index]! }) }));
}
