import { eventId } from "./event-id.js";
import { deepEqual, fingerprintOf, getPath, previousValues, withoutFields } from "./fingerprint.js";
import { firedTransitions, type Transition } from "./transitions.js";
import { recordKey, refKey, type EventEnvelope, type JsonObject, type RecordRef, type Snapshot, type SourceRecord } from "./types.js";

/** What the detector knows about one resource. */
export interface DetectRules {
  source: string;
  resource: string;
  /** Event type prefix (`cost_invoice`). */
  typePrefix: string;
  ignoreFields: readonly string[];
  /** Built-in transitions (`paid`, …) first, then the user's, in config order. */
  transitions: readonly Transition[];
}

export interface DetectContext {
  epoch: string;
  generation: string;
  /** ISO instant stamped as `detected_at`. */
  detectedAt: string;
  /**
   * For records not seen before: emit `created` (and transitions)? Always true after the first
   * complete pass; during it, the `start` policy decides (baseline: never, backfill: always,
   * since: by `created_field`).
   */
  announceNew: (record: SourceRecord) => boolean;
}

export interface DetectedEvent {
  ref: RecordRef;
  recordKey: string;
  envelope: EventEnvelope;
}

export interface SnapshotChange extends RecordRef {
  snapshot: Snapshot;
  revived?: boolean;
  /** First snapshot of the record (nothing stored before, not even a tombstone). */
  fresh?: boolean;
}

export interface Detection {
  events: DetectedEvent[];
  writes: SnapshotChange[];
  /** New records recorded silently (baseline). */
  baselined: number;
  /** Records whose text changed only in `ignore_fields` (no event), with those fields: what `explain` says. */
  ignoredOnly?: Array<{ key: string; fields: string[] }>;
}

/**
 * Compares records with their snapshots. Pure: the caller reads the snapshots and writes the
 * outcome (events and snapshots in one store write). `snapshots` is keyed by `refKey` and is updated in
 * place, so a record listed twice in one batch is compared with its own latest version.
 */
export function detectChanges(records: readonly SourceRecord[], snapshots: Map<string, Snapshot>, rules: DetectRules, context: DetectContext): Detection {
  const events: DetectedEvent[] = [];
  const writes = new Map<string, SnapshotChange>();
  const ignoredOnly: Array<{ key: string; fields: string[] }> = [];
  let baselined = 0;

  for (const record of records) {
    const key = refKey(record);
    const stored = snapshots.get(key);
    const json = JSON.stringify(record.data);
    // The same text as stored: unchanged, whatever the fingerprint (the common case; no hashing).
    if (stored && !stored.gone && stored.json === json) continue;

    if (!stored || stored.gone) {
      const announce = context.announceNew(record);
      // A baselined record gets no fingerprint (no hashing in a first pass): if its text ever
      // differs, the empty fingerprint matches nothing and its parsed content is compared.
      const snapshot: Snapshot = { version: (stored?.version ?? 0) + 1, fingerprint: announce ? recordFingerprint(json, record.data, rules) : "", json };
      if (announce) {
        const names = ["created", ...firedTransitions(rules.transitions, undefined, record.data)];
        events.push(...names.map((name) => envelopeFor(rules, context, record, record.data, undefined, snapshot, name)));
      } else {
        baselined += 1;
      }
      snapshots.set(key, snapshot);
      writes.set(key, stored ? { kind: record.kind, id: record.id, snapshot, revived: true } : { kind: record.kind, id: record.id, snapshot, fresh: true });
      continue;
    }

    const fingerprint = recordFingerprint(json, record.data, rules);
    if (stored.fingerprint === fingerprint) {
      if (rules.ignoreFields.length > 0) noteIgnored(ignoredOnly, key, JSON.parse(stored.json) as JsonObject, record.data, rules.ignoreFields);
      continue;
    }
    const previous = JSON.parse(stored.json) as JsonObject;
    if (deepEqual(withoutFields(previous, rules.ignoreFields), withoutFields(record.data, rules.ignoreFields))) {
      noteIgnored(ignoredOnly, key, previous, record.data, rules.ignoreFields);
      // Same content, other key order: refresh the fingerprint silently.
      const snapshot: Snapshot = { ...stored, fingerprint, json };
      snapshots.set(key, snapshot);
      writes.set(key, { kind: record.kind, id: record.id, snapshot });
      continue;
    }
    const snapshot: Snapshot = { version: stored.version + 1, fingerprint, json };
    const names = ["updated", ...firedTransitions(rules.transitions, previous, record.data)];
    events.push(...names.map((name) => envelopeFor(rules, context, record, record.data, previous, snapshot, name)));
    snapshots.set(key, snapshot);
    writes.set(key, { kind: record.kind, id: record.id, snapshot });
  }
  return { events, writes: [...writes.values()], baselined, ...(ignoredOnly.length > 0 ? { ignoredOnly } : {}) };
}

function noteIgnored(notes: Array<{ key: string; fields: string[] }>, key: string, previous: JsonObject, current: JsonObject, ignore: readonly string[]): void {
  const fields = ignore.filter((path) => !deepEqual(getPath(previous, path), getPath(current, path)));
  if (fields.length > 0) notes.push({ key, fields });
}

/**
 * True when detectChanges would record every record of a batch silently as a first snapshot:
 * nothing stored for the resource but the keys in `written` (this pass's own writes), and
 * none of the records among them, listed twice or to be announced. Such a batch yields no
 * event and, per record, version 1 with no fingerprint and the record's JSON as text — which
 * a store can write from the response's bytes (StateStore.putBaseline), sparing the pass the
 * comparison and the `JSON.stringify`.
 */
export function isSilentBaseline(records: readonly SourceRecord[], keys: readonly string[], written: { has(key: string): boolean }, context: Pick<DetectContext, "announceNew">): boolean {
  if (new Set(keys).size !== keys.length) return false;
  for (const key of keys) if (written.has(key)) return false;
  for (const record of records) if (context.announceNew(record)) return false;
  return true;
}

/** `deleted` events for confirmed deletions; the body is the last snapshot. Leaves tombstones. */
/** `reason`, when given, goes into the event's `data.reason` (why a deletion was concluded). */
export function detectDeletions(gone: ReadonlyArray<{ ref: RecordRef; snapshot: Snapshot; reason?: string }>, rules: DetectRules, context: DetectContext): Detection {
  const events: DetectedEvent[] = [];
  const writes: SnapshotChange[] = [];
  for (const { ref, snapshot, reason } of gone) {
    if (snapshot.gone) continue;
    const tombstone: Snapshot = { version: snapshot.version + 1, fingerprint: "", json: "", gone: true };
    const last = JSON.parse(snapshot.json) as JsonObject;
    const fingerprint = snapshot.fingerprint || recordFingerprint(snapshot.json, last, rules);
    const event = envelopeFor(rules, context, ref, last, undefined, { ...tombstone, fingerprint }, "deleted");
    if (reason !== undefined) event.envelope.data.reason = reason;
    events.push(event);
    writes.push({ kind: ref.kind, id: ref.id, snapshot: tombstone });
  }
  return { events, writes, baselined: 0 };
}

/** Hash of the record's text, or of its JSON without `ignore_fields` when some are set. */
function recordFingerprint(json: string, data: JsonObject, rules: DetectRules): string {
  return rules.ignoreFields.length === 0 ? fingerprintOf(json) : fingerprintOf(JSON.stringify(withoutFields(data, rules.ignoreFields)));
}

function envelopeFor(
  rules: DetectRules,
  context: DetectContext,
  ref: RecordRef,
  object: JsonObject,
  previous: JsonObject | undefined,
  snapshot: Snapshot,
  name: string,
): DetectedEvent {
  const key = recordKey(rules.source, rules.resource, ref);
  const envelope: EventEnvelope = {
    id: eventId({ epoch: context.epoch, generation: context.generation, recordKey: key, version: snapshot.version, event: name, fingerprint: snapshot.fingerprint }),
    type: `${rules.typePrefix}.${name}`,
    source: rules.source,
    resource: rules.resource,
    kind: ref.kind,
    record_id: ref.id,
    detected_at: context.detectedAt,
    data: previous ? { object, previous: previousValues(previous, object, rules.ignoreFields) } : { object },
  };
  return { ref: { kind: ref.kind, id: ref.id }, recordKey: key, envelope };
}
