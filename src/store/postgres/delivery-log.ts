import type { DeliveryLog, DeliveryLogEntry } from "../store.js";
import type { PgContext } from "./context.js";
import type { Query } from "./db.js";

/** The delivery log: entries numbered per target (`log_counters`), the oldest past `logLimit` deleted as new ones come. */
export function pgDeliveryLog(ctx: PgContext): DeliveryLog {
  const { db } = ctx;
  return {
    async appendLog(entry) {
      await db.tx((q) => appendEntries(ctx, q, [entry]));
    },
    async listLog(filter) {
      const limit = filter.limit ?? 100;
      const rows = filter.target
        ? await db.query("SELECT entry FROM @.delivery_log WHERE target = $1 ORDER BY n DESC LIMIT $2", [filter.target, limit])
        : await db.query("SELECT entry FROM @.delivery_log ORDER BY n DESC, target LIMIT $1", [limit]);
      return rows.map((r) => JSON.parse(r.entry as string) as DeliveryLogEntry);
    },
  };
}

/** In the caller's transaction: numbers the entries per target, inserts them, trims each target to `logLimit`. */
export async function appendEntries(ctx: PgContext, q: Query, entries: DeliveryLogEntry[]): Promise<void> {
  const byTarget = new Map<string, DeliveryLogEntry[]>();
  for (const entry of entries) byTarget.set(entry.target, [...(byTarget.get(entry.target) ?? []), entry]);
  for (const [target, list] of byTarget) {
    const rows = await q("INSERT INTO @.log_counters (target, n) VALUES ($1, $2) ON CONFLICT (target) DO UPDATE SET n = @.log_counters.n + excluded.n RETURNING n", [target, list.length]);
    const last = Number(rows[0]!.n);
    const first = last - list.length + 1;
    await q("INSERT INTO @.delivery_log (target, n, entry) SELECT $1, n, e FROM unnest($2::bigint[], $3::text[]) AS t(n, e)", [target, list.map((_, i) => first + i), list.map((e) => JSON.stringify(e))]);
    if (last > ctx.logLimit) await q("DELETE FROM @.delivery_log WHERE target = $1 AND n <= $2", [target, last - ctx.logLimit]);
  }
}

/**
 * One statement (atomic on its own, autocommit): the delivered `seqs` leave the outbox and
 * their log entries are numbered per target, inserted and each target trimmed to `logLimit`.
 * Entries numbered at or below the trim line are not inserted (they would be trimmed at once):
 * the log holds what `appendEntries` would leave.
 */
export const ACK_STATEMENT = `WITH gone AS (DELETE FROM @.outbox WHERE seq = ANY($1::bigint[])),
entries AS (
  SELECT t.target, t.entry, row_number() OVER (PARTITION BY t.target ORDER BY t.ord) AS i, count(*) OVER (PARTITION BY t.target) AS k
  FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(target, entry, ord)
),
bumped AS (
  INSERT INTO @.log_counters (target, n) SELECT target, max(k) FROM entries GROUP BY target
  ON CONFLICT (target) DO UPDATE SET n = @.log_counters.n + excluded.n RETURNING target, n
),
added AS (
  INSERT INTO @.delivery_log (target, n, entry)
  SELECT e.target, b.n - e.k + e.i, e.entry FROM entries e JOIN bumped b USING (target) WHERE b.n - e.k + e.i > b.n - $4
)
DELETE FROM @.delivery_log l USING bumped b WHERE l.target = b.target AND l.n <= b.n - $4`;

/** The parameters of `ACK_STATEMENT`. */
export function ackParameters(ctx: PgContext, seqs: number[], entries: DeliveryLogEntry[]): unknown[] {
  return [seqs, entries.map((e) => e.target), entries.map((e) => JSON.stringify(e)), ctx.logLimit];
}
