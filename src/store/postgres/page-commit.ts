import { refKey } from "../../core/types.js";
import { crashPoint } from "../../testing/fault-injection.js";
import type { Delivery, EnqueueItem, PageCommit } from "../store.js";
import { textArray } from "./binary-array.js";
import { settled, takeNumbers, type PgContext } from "./context.js";
import { enqueueRows } from "./outbox.js";
import { upsertSnapshots } from "./snapshots.js";

/** Staged after those already staged for the resource, in the given order. */
const STAGE = `INSERT INTO @.staged_events (source, resource, n, item)
  SELECT $1, $2, coalesce((SELECT max(n) FROM @.staged_events WHERE source = $1 AND resource = $2), 0) + t.o, t.item
  FROM unnest($3::text[]) WITH ORDINALITY AS t(item, o)`;

/** Each record's row as it is now, unless journaled already by this staging (the first before-image wins). */
const JOURNAL = `INSERT INTO @.snapshot_undo (source, resource, record, had, version, fingerprint, json, gone)
  SELECT $1, $2, t.r, s.record IS NOT NULL, s.version, s.fingerprint, s.json, s.gone
  FROM unnest($3::text[]) AS t(r) LEFT JOIN @.snapshots s ON s.source = $1 AND s.resource = $2 AND s.record = t.r
  ON CONFLICT (source, resource, record) DO NOTHING`;

/** Whether the resource has anything staged or journaled (most passes stage nothing). */
const ANY_STAGED = `SELECT EXISTS (SELECT 1 FROM @.staged_events WHERE source = $1 AND resource = $2)
  OR EXISTS (SELECT 1 FROM @.snapshot_undo WHERE source = $1 AND resource = $2) AS staged`;

/**
 * A pass's page: its events and its snapshots in one transaction, fenced on a replica (db.ts
 * `tx`). A later pass stages its events and journals the snapshots it changes until it
 * releases or discards them (docs/decisions/0014).
 */
export function pgPageCommit(ctx: PgContext): PageCommit {
  const { db } = ctx;
  return {
    async commitPage(id, items, writes, staged = false) {
      await settled(ctx, id);
      if (items.length === 0 && writes.length === 0) return [];
      const now = ctx.clock.now();
      return db.tx(
        async (q) => {
          let created: Delivery[] = [];
          if (items.length > 0) {
            if (staged) await q(STAGE, [id.source, id.resource, textArray(items.map((item) => JSON.stringify(item)))]);
            else created = await enqueueRows(ctx, q, items, now);
            crashPoint("store:enqueue-before-commit");
          }
          if (staged && writes.length > 0) await q(JOURNAL, [id.source, id.resource, textArray(writes.map(refKey))]);
          await upsertSnapshots(q, id, writes);
          return created;
        },
        writes.length > 0 ? "store:snapshots-before-commit" : undefined,
      );
    },

    async releaseStaged(id) {
      await settled(ctx, id);
      // Every later pass ends here: one prepared read when it staged nothing, no transaction
      // (only the resource's owner stages for it, so nothing can appear meanwhile).
      const [any] = await db.query(ANY_STAGED, [id.source, id.resource], "retrohook_any_staged");
      if (any?.staged !== true) return { deliveries: [], items: [] };
      const now = ctx.clock.now();
      return db.tx(async (q) => {
        const rows = await q("DELETE FROM @.staged_events WHERE source = $1 AND resource = $2 RETURNING n, item", [id.source, id.resource]);
        await q("DELETE FROM @.snapshot_undo WHERE source = $1 AND resource = $2", [id.source, id.resource]);
        if (rows.length === 0) return { deliveries: [], items: [] };
        const items = rows.sort((a, b) => Number(a.n) - Number(b.n)).map((row) => JSON.parse(row.item as string) as EnqueueItem);
        return { deliveries: await enqueueRows(ctx, q, items, now), items };
      });
    },

    async discardStaged(id) {
      await settled(ctx, id);
      return db.tx(async (q) => {
        const dropped = await q("DELETE FROM @.staged_events WHERE source = $1 AND resource = $2 RETURNING n", [id.source, id.resource]);
        const undo = await q("SELECT 1 FROM @.snapshot_undo WHERE source = $1 AND resource = $2 LIMIT 1", [id.source, id.resource]);
        if (undo.length > 0) {
          await q(
            `DELETE FROM @.snapshots s USING @.snapshot_undo u
             WHERE u.source = $1 AND u.resource = $2 AND NOT u.had AND s.source = u.source AND s.resource = u.resource AND s.record = u.record`,
            [id.source, id.resource],
          );
          // A restored snapshot is a change like any other: marked, so no page mark skips it.
          const seq = await takeNumbers(q, "wseq", 1);
          await q(
            `UPDATE @.snapshots s SET version = u.version, fingerprint = u.fingerprint, json = u.json, gone = u.gone, changed_seq = $3
             FROM @.snapshot_undo u
             WHERE u.source = $1 AND u.resource = $2 AND u.had AND s.source = u.source AND s.resource = u.resource AND s.record = u.record`,
            [id.source, id.resource, seq],
          );
          await q("DELETE FROM @.snapshot_undo WHERE source = $1 AND resource = $2", [id.source, id.resource]);
        }
        return dropped.length;
      });
    },

    async stagedResources() {
      const rows = await db.query("SELECT source, resource FROM @.staged_events UNION SELECT source, resource FROM @.snapshot_undo");
      return rows.map((row) => ({ source: row.source as string, resource: row.resource as string }));
    },
  };
}
