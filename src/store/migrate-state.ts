import { existsSync } from "node:fs";
import { StateError } from "../errors.js";
import { Db, type Query } from "./postgres/db.js";
import { migrate } from "./postgres/migrate.js";
import { takeOwnerLock } from "./postgres/owner.js";
import { parsePostgresUrl } from "./postgres/url.js";
import { decodeSnapshot } from "./sqlite/codec.js";
import { SqliteKv } from "./sqlite/kv.js";
import { sqlitePathFromUrl, sqliteStateHeld } from "./sqlite/open.js";
import { stateBackend } from "./url.js";

/** What was moved, by kind. */
export type MovedCounts = Record<string, number>;

const BATCH = 2_000;

/**
 * Moves a SQLite state file into an empty PostgreSQL schema, row for row, in one transaction:
 * the epoch (so event ids stay the same), cursors and resource state, snapshots with their
 * tombstones and change marks, page marks, a stopped pass's staged events and snapshot journal,
 * events with the record index, pending deliveries
 * and dead letters with their sequence numbers, the delivery log, budgets, suspensions and
 * facts, target pauses, the counters, the pass journal `explain` reads, the bodies targets'
 * filters and transforms fixed, and the overview's series. A run on the new state goes on where the old one
 * stopped: no new baseline, pending deliveries delivered once, nothing lost. The SQLite file
 * is only read; neither side may be in use (stop the daemon first).
 */
export async function migrateState(from: string, to: string): Promise<MovedCounts> {
  if (stateBackend(from) !== "sqlite" || stateBackend(to) !== "postgres") throw new StateError("migrate-state moves a sqlite:// state into a postgres:// one (--from sqlite://FILE --to postgres://…)");
  const file = sqlitePathFromUrl(from);
  if (file === ":memory:" || !existsSync(file)) throw new StateError(`no state file at ${file}: nothing to move`);
  if (sqliteStateHeld(from)) throw new StateError(`state file ${file} is in use by a running retrohook: stop it first`);
  const kv = new SqliteKv(file, { readOnly: true });
  const db = new Db(parsePostgresUrl(to), false, 2);
  let owner: Awaited<ReturnType<typeof takeOwnerLock>> | undefined;
  try {
    await migrate(db);
    owner = await takeOwnerLock(db);
    return await db.tx(async (q) => {
      const used = await q("SELECT (SELECT count(*) FROM @.snapshots) + (SELECT count(*) FROM @.resource_state) + (SELECT count(*) FROM @.events) AS n");
      if (Number(used[0]!.n) > 0) throw new StateError(`${db.target.shown} already holds state: move into an empty schema (another ?schema=)`);
      return copyAll(kv, q);
    });
  } finally {
    kv.close();
    await db.close();
    await owner?.release();
  }
}

/** `<a>/<b>/<rest>` → [a, b, rest] (rest may hold slashes). */
function split2(key: string): [string, string, string] {
  const a = key.indexOf("/");
  const b = key.indexOf("/", a + 1);
  return [key.slice(0, a), key.slice(a + 1, b), key.slice(b + 1)];
}

async function insertRows(q: Query, sql: string, types: string[], rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const chunk = rows.slice(i, i + BATCH);
    const columns = types.map((_, c) => chunk.map((row) => row[c]));
    await q(`${sql} SELECT * FROM unnest(${types.map((t, c) => `$${c + 1}::${t}[]`).join(", ")})`, columns);
  }
}

async function copyAll(kv: SqliteKv, q: Query): Promise<MovedCounts> {
  const under = (prefix: string): Array<[string, string]> => kv.range(prefix).map(([key, value]) => [key.slice(prefix.length), value]);
  const keyv = (prefix: string): Array<[string, unknown]> => under(`k:${prefix}`).map(([key, value]) => [key, (JSON.parse(value) as { value: unknown }).value]);
  const counts: MovedCounts = {};

  const epoch = kv.getRaw("m/epoch");
  if (epoch) await q("INSERT INTO @.meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [epoch]);
  for (const name of ["seq", "eseq", "wseq"]) await q("UPDATE @.counters SET value = $2 WHERE name = $1", [name, Number(kv.getRaw(`m/${name}`) ?? 0)]);

  const resources = keyv("rs/").map(([key, state]) => [...split2(`${key}/`).slice(0, 2), JSON.stringify(state)]);
  await insertRows(q, "INSERT INTO @.resource_state (source, resource, state)", ["text", "text", "jsonb"], resources);
  counts.resources = resources.length;
  const sources = keyv("ss/").map(([key, state]) => [key, JSON.stringify(state)]);
  await insertRows(q, "INSERT INTO @.source_state (source, state)", ["text", "jsonb"], sources);
  const targets = keyv("ts/").map(([key, state]) => [key, JSON.stringify(state)]);
  await insertRows(q, "INSERT INTO @.target_state (target, state)", ["text", "jsonb"], targets);
  const budgets = keyv("b/").map(([key, b]) => [key, (b as { period: string }).period, (b as { used: number }).used]);
  await insertRows(q, "INSERT INTO @.budgets (source, period, used)", ["text", "text", "bigint"], budgets);

  // Snapshots and tombstones, with the change mark of each record (a mark may outlive its row).
  const marks = new Map(under("w/").map(([key, seq]) => [key, Number(seq)]));
  const snapshots: unknown[][] = [];
  for (const [key, raw] of under("s/")) {
    const [source, resource, record] = split2(key);
    const s = decodeSnapshot(raw);
    snapshots.push([source, resource, record, s.version, s.fingerprint, s.json, false, marks.get(key) ?? null]);
    marks.delete(key);
  }
  for (const [key, version] of under("t/")) {
    const [source, resource, record] = split2(key);
    snapshots.push([source, resource, record, Number(version), "", "", true, marks.get(key) ?? null]);
    marks.delete(key);
  }
  await insertRows(q, "INSERT INTO @.snapshots (source, resource, record, version, fingerprint, json, gone, changed_seq)", ["text", "text", "text", "int", "text", "text", "bool", "bigint"], snapshots);
  counts.snapshots = snapshots.length;
  // What a pass stopped part-way kept apart (docs/decisions/0014): its staged events and the
  // snapshots it changed as they were before, so the next pass releases or discards them there.
  const staged = under("g/").map(([key, item]) => {
    const [source, resource, n] = split2(key);
    return [source, resource, Number(n), item];
  });
  await insertRows(q, "INSERT INTO @.staged_events (source, resource, n, item)", ["text", "text", "bigint", "text"], staged);
  if (staged.length > 0) counts.staged = staged.length;
  const undo = under("u/").map(([key, before]) => {
    const [source, resource, record] = split2(key);
    if (before === "") return [source, resource, record, false, null, null, null, null];
    if (before.startsWith("t")) return [source, resource, record, true, Number(before.slice(1)), "", "", true];
    const s = decodeSnapshot(before.slice(1));
    return [source, resource, record, true, s.version, s.fingerprint, s.json, false];
  });
  await insertRows(q, "INSERT INTO @.snapshot_undo (source, resource, record, had, version, fingerprint, json, gone)", ["text", "text", "text", "bool", "int", "text", "text", "bool"], undo);
  const pages = under("p/").map(([key, since]) => [...split2(key), Number(since)]);
  await insertRows(q, "INSERT INTO @.page_marks (source, resource, digest, since)", ["text", "text", "text", "bigint"], pages);
  counts.pageMarks = pages.length;

  // Events with their place in the record index.
  const index = new Map<string, [string, number]>();
  for (const [key, id] of under("r/")) {
    const cut = key.lastIndexOf("/");
    index.set(id, [key.slice(0, cut), Number(key.slice(cut + 1))]);
  }
  const events = under("e/").map(([id, body]) => {
    const [recordKey, n] = index.get(id) ?? ["", 0];
    return [id, recordKey, n, body];
  });
  await insertRows(q, "INSERT INTO @.events (id, record_key, n, body)", ["text", "text", "bigint", "text"], events);
  counts.events = events.length;

  const pending = under("q/").map(([, value]) => {
    const d = JSON.parse(value) as { seq: number; target: string; eventId: string; recordKey: string; attempts: number; nextAttemptAt: number; lastError?: string };
    return [d.seq, d.target, d.eventId, d.recordKey, d.attempts, d.nextAttemptAt, d.lastError ?? null];
  });
  await insertRows(q, "INSERT INTO @.outbox (seq, target, event_id, record_key, attempts, next_attempt_at, last_error)", ["bigint", "text", "text", "text", "int", "bigint", "text"], pending);
  counts.pending = pending.length;
  const dead = under("d/").map(([, value]) => {
    const d = JSON.parse(value) as { seq: number; target: string; eventId: string; recordKey: string };
    return [d.seq, d.target, d.eventId, d.recordKey, value];
  });
  await insertRows(q, "INSERT INTO @.dead_letters (seq, target, event_id, record_key, letter)", ["bigint", "text", "text", "text", "jsonb"], dead);
  counts.deadLetters = dead.length;

  const log = under("l/").map(([key, value]) => {
    const { n, ...entry } = JSON.parse(value) as { n: number };
    return [key.slice(0, key.lastIndexOf("/")), n, JSON.stringify(entry)];
  });
  await insertRows(q, "INSERT INTO @.delivery_log (target, n, entry)", ["text", "bigint", "text"], log);
  counts.log = log.length;
  const logCounters = under("m/l/").map(([target, n]) => [target, Number(n)]);
  await insertRows(q, "INSERT INTO @.log_counters (target, n)", ["text", "bigint"], logCounters);

  // What `explain` reads (each resource's pass journal), what targets' filters and transforms
  // fixed for each event (a retry or a replay after the move sends the same body), and the
  // overview's hourly series.
  const passes = under("h/").map(([key, entry]) => {
    const [source, resource, n] = split2(key);
    return [source, resource, Number(n), entry];
  });
  await insertRows(q, "INSERT INTO @.pass_journal (source, resource, n, entry)", ["text", "text", "bigint", "text"], passes);
  counts.passes = passes.length;
  const fixed = under("o/").map(([key, body]) => {
    const cut = key.lastIndexOf("/");
    return [key.slice(cut + 1), key.slice(0, cut), body];
  });
  await insertRows(q, "INSERT INTO @.fixed_bodies (event_id, target, body)", ["text", "text", "text"], fixed);
  if (fixed.length > 0) counts.fixedBodies = fixed.length;
  const series = kv.getRaw("k:series");
  if (series !== undefined) await q("INSERT INTO @.meta (key, value) VALUES ('series', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [JSON.stringify((JSON.parse(series) as { value: unknown }).value)]);
  return counts;
}
