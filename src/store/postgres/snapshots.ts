import { staleChangeMarks } from "../../core/page-marks.js";
import { parseRefKey, refKey, type Snapshot } from "../../core/types.js";
import { baselineElements } from "../snapshot-codec.js";
import type { PageMarks, ResourceId, SnapshotStore, SnapshotWrite } from "../store.js";
import type { BaselineInsert } from "./baseline-writer.js";
import { baselineCopy, boolArray, joinedCopy, numberArray, textArray } from "./binary-array.js";
import { settled, takeNumbers, type PgContext } from "./context.js";
import { sqlState, type Db, type Query } from "./db.js";

/** Batches smaller than this are written inline (no thread for a handful of records). */
const BASELINE_THREAD_MIN = 50;

const BASELINE_COLUMNS = "(source, resource, record, version, fingerprint, json)";
const COPY_BASELINE = `COPY @.snapshots ${BASELINE_COLUMNS} FROM STDIN (FORMAT binary)`;
const UNIQUE_VIOLATION = "23505";

/**
 * Batches of a silent baseline (binary COPY bodies, binary-array.ts) in one transaction.
 * COPY inserts in bulk and costs the server about half of a multi-row INSERT … ON CONFLICT.
 * A silent baseline writes records that have no row yet, so COPY alone is the rule; should one
 * have a row all the same, the batch is written again through a temporary table and an upsert,
 * which overwrites, as a baseline write always did.
 */
export function baselineInsert(db: Db): BaselineInsert {
  return async (id, bodies) => {
    const chunks = joinedCopy(bodies);
    try {
      await db.tx(async (_q, copy) => {
        await copy(COPY_BASELINE, chunks);
      }, "store:snapshots-before-commit");
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      await db.tx(async (q, copy) => {
        await q(`CREATE TEMPORARY TABLE baseline_batch ${BASELINE_COLUMNS_TYPED}`);
        await copy(`COPY baseline_batch ${BASELINE_COLUMNS} FROM STDIN (FORMAT binary)`, chunks);
        await q(`INSERT INTO @.snapshots ${BASELINE_COLUMNS} SELECT * FROM baseline_batch
          ON CONFLICT (source, resource, record) DO UPDATE SET version = 1, fingerprint = '', json = excluded.json, gone = false`);
        await q("DROP TABLE baseline_batch");
      }, "store:snapshots-before-commit");
    }
  };
}

const BASELINE_COLUMNS_TYPED = "(source text, resource text, record text, version integer, fingerprint text, json text)";

const UPSERT = `INSERT INTO @.snapshots (source, resource, record, version, fingerprint, json, gone, changed_seq)
  SELECT $1, $2, r, v, f, j, g, c FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::bool[], $8::bigint[]) AS t(r, v, f, j, g, c)
  ON CONFLICT (source, resource, record) DO UPDATE SET version = excluded.version, fingerprint = excluded.fingerprint, json = excluded.json,
    gone = excluded.gone, changed_seq = coalesce(excluded.changed_seq, @.snapshots.changed_seq)`;

/**
 * Writes snapshots and tombstones in one multi-row statement; every write but a first one takes
 * the next write sequence as its change mark. The caller's transaction (`putSnapshots`, `commitPage`).
 */
export async function upsertSnapshots(q: Query, id: ResourceId, writes: readonly SnapshotWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const marked = writes.some((w) => !w.fresh);
  const seq = marked ? await takeNumbers(q, "wseq", 1) : null;
  await q(UPSERT, [
    id.source,
    id.resource,
    textArray(writes.map(refKey)),
    numberArray("int4", writes.map((w) => w.snapshot.version)),
    textArray(writes.map((w) => (w.snapshot.gone ? "" : w.snapshot.fingerprint))),
    textArray(writes.map((w) => (w.snapshot.gone ? "" : w.snapshot.json))),
    boolArray(writes.map((w) => w.snapshot.gone === true)),
    numberArray("int8", writes.map((w) => (w.fresh ? null : seq))),
  ]);
}

/**
 * Snapshots and tombstones (one row per record), change marks (`changed_seq`) and page marks.
 * Every write of a call is one multi-row statement over arrays (`unnest`, sent in binary), in
 * one transaction. Large silent baselines go through the baseline writer: every other call
 * for the resource waits for them first (`settled`).
 */
export function pgSnapshots(ctx: PgContext): SnapshotStore {
  const { db } = ctx;
  const changeMarks = async (q: Query, id: ResourceId): Promise<Map<string, number>> =>
    new Map((await q("SELECT record, changed_seq FROM @.snapshots WHERE source = $1 AND resource = $2 AND changed_seq IS NOT NULL", [id.source, id.resource])).map((r) => [r.record as string, Number(r.changed_seq)]));

  const insertBaseline = baselineInsert(db);

  const snapshotSeq = async (): Promise<number> => Number((await db.query("SELECT value FROM @.counters WHERE name = 'wseq'"))[0]!.value);

  return {
    async getSnapshots(id, refs) {
      const out = new Map<string, Snapshot>();
      await settled(ctx, id);
      if (refs.length === 0) return out;
      const rows = await db.query("SELECT record, version, fingerprint, json, gone FROM @.snapshots WHERE source = $1 AND resource = $2 AND record = ANY($3::text[])", [id.source, id.resource, textArray(refs.map(refKey))]);
      for (const row of rows) {
        const version = row.version as number;
        out.set(row.record as string, row.gone ? { version, fingerprint: "", json: "", gone: true } : { version, fingerprint: row.fingerprint as string, json: row.json as string });
      }
      return out;
    },

    async putSnapshots(id, writes) {
      await settled(ctx, id);
      if (writes.length === 0) return;
      await db.tx((q) => upsertSnapshots(q, id, writes), "store:snapshots-before-commit");
    },

    async putBaseline(id, origin, refs) {
      const keys = refs.map(refKey);
      if (ctx.baselines && refs.length >= BASELINE_THREAD_MIN) return ctx.baselines.write(id, origin, keys);
      await settled(ctx, id);
      await insertBaseline(id, [baselineCopy(id.source, id.resource, keys, baselineElements(origin, refs.length, `${id.source}/${id.resource}/`))]);
    },

    snapshotSeq,

    async getPageMarks(id) {
      await settled(ctx, id);
      // One statement (one snapshot): the sequence, the page marks (`p`), the change marks (`c`).
      const rows = await db.query(
        `SELECT 's' AS kind, NULL AS key, value AS seq FROM @.counters WHERE name = 'wseq'
         UNION ALL SELECT 'p', digest, since FROM @.page_marks WHERE source = $1 AND resource = $2
         UNION ALL SELECT 'c', record, changed_seq FROM @.snapshots WHERE source = $1 AND resource = $2 AND changed_seq IS NOT NULL`,
        [id.source, id.resource],
      );
      const marks: PageMarks = { pages: new Map(), changed: new Map(), seq: 0 };
      for (const row of rows) {
        if (row.kind === "s") marks.seq = Number(row.seq);
        else (row.kind === "p" ? marks.pages : marks.changed).set(row.key as string, Number(row.seq));
      }
      return marks;
    },

    async putPageMarks(id, pages, complete) {
      await settled(ctx, id);
      await db.tx(async (q) => {
        if (complete) await q("DELETE FROM @.page_marks WHERE source = $1 AND resource = $2", [id.source, id.resource]);
        if (pages.size > 0) {
          await q(
            `INSERT INTO @.page_marks (source, resource, digest, since) SELECT $1, $2, d, s FROM unnest($3::text[], $4::bigint[]) AS t(d, s)
             ON CONFLICT (source, resource, digest) DO UPDATE SET since = excluded.since`,
            [id.source, id.resource, [...pages.keys()], [...pages.values()]],
          );
        }
        if (complete) {
          const stale = staleChangeMarks(pages, await changeMarks(q, id));
          if (stale.length > 0) await q("UPDATE @.snapshots SET changed_seq = NULL WHERE source = $1 AND resource = $2 AND record = ANY($3::text[])", [id.source, id.resource, stale]);
        }
      });
    },

    async listSnapshotRefs(id) {
      await settled(ctx, id);
      const rows = await db.query("SELECT record FROM @.snapshots WHERE source = $1 AND resource = $2 AND NOT gone ORDER BY record", [id.source, id.resource]);
      return rows.map((r) => parseRefKey(r.record as string));
    },

    async hasSnapshots(id) {
      await settled(ctx, id);
      return (await db.query("SELECT 1 FROM @.snapshots WHERE source = $1 AND resource = $2 LIMIT 1", [id.source, id.resource])).length > 0;
    },

    async countSnapshots(id) {
      await settled(ctx, id);
      return Number((await db.query("SELECT count(*) AS n FROM @.snapshots WHERE source = $1 AND resource = $2 AND NOT gone", [id.source, id.resource]))[0]!.n);
    },

    async clearResource(id) {
      await settled(ctx, id);
      await db.tx(async (q) => {
        for (const table of ["snapshots", "page_marks", "resource_state", "staged_events", "snapshot_undo"]) await q(`DELETE FROM @.${table} WHERE source = $1 AND resource = $2`, [id.source, id.resource]);
      });
    },
  };
}
