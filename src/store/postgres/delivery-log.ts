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
