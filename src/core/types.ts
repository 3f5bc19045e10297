/**
 * Glossary
 * - source: one configured vendor account or REST API (`sources[].name`).
 * - resource: one kind of record a source lists (`cost_invoices`, or a generic name).
 * - kind: the vendor table or module when a resource merges several, else null.
 * - record: the list representation of one vendor object, wrapper removed, untouched.
 * - record key: (source, resource, kind, id) — the identity of a record in state.
 * - snapshot: the last known version of a record, with its fingerprint and version number.
 * - fingerprint: hash of the record without `ignore_fields`; equal ⇒ nothing changed.
 * - version: per record key, incremented for every change detected; part of event ids.
 * - pass: one run over a resource, `incremental` (since the cursor) or `reconcile` (complete).
 * - cursor: opaque per resource, owned by the source; advanced only after a complete pass.
 * - epoch: random per state file; generation: random per resource, renewed by `reset`.
 * - event: one `created`/`updated`/`deleted`/`paid`/custom occurrence, with a fixed body.
 * - delivery: one event for one target; pending until acked or dead-lettered.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type PassMode = "incremental" | "reconcile";

export interface RecordRef {
  kind: string | null;
  id: string;
}

/** A record as a source yields it. */
export interface SourceRecord extends RecordRef {
  data: JsonObject;
}

export interface Snapshot {
  /** Per record key; the version of the last change detected (baseline = 1). */
  version: number;
  /** Empty for a record recorded as baseline and unchanged since (computed when it changes). */
  fingerprint: string;
  /** The record as JSON text; parsed only when an event needs it. Empty for a tombstone. */
  json: string;
  /** Tombstone: the record was deleted; kept so versions (and event ids) never repeat. */
  gone?: boolean;
}

/**
 * Where a batch's records are in the response they came from: `records[i].data` is element
 * `i`, untouched, of the array at the dotted `path` (the body itself when there is none) of
 * `bytes` parsed as JSON. The store can then write a baseline's texts from the bytes, off the
 * pass's thread (docs/decisions/0006-performance-tradeoffs.md).
 */
export interface RecordsOrigin {
  bytes: Uint8Array;
  path?: string;
  /**
   * The bytes are the caller's to give away (a response read for this page alone): the store
   * may move them to its writer's thread instead of copying them, after which they read as
   * empty. Unset, the store copies them.
   */
  transferable?: boolean;
}

/** The standard envelope (README, "Events"). Its JSON is the body, fixed at detection. */
export interface EventEnvelope {
  id: string;
  type: string;
  source: string;
  resource: string | null;
  kind: string | null;
  record_id: string | null;
  detected_at: string;
  /** `reason`: on a `deleted` concluded without the vendor's not-found answer, why. */
  data: { object: JsonObject; previous?: JsonObject; reason?: string };
}

export function recordKey(source: string, resource: string, ref: RecordRef): string {
  return `${source}/${resource}/${refKey(ref)}`;
}

/** The part of a record key after source and resource: `kind␟id` (␟ = U+001F). */
export function refKey(ref: RecordRef): string {
  return `${ref.kind ?? ""}\u001f${ref.id}`;
}

export function parseRefKey(key: string): RecordRef {
  const at = key.indexOf("\u001f");
  const kind = key.slice(0, at);
  return { kind: kind === "" ? null : kind, id: key.slice(at + 1) };
}
