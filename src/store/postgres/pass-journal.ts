import { PASS_HISTORY_LIMIT, type PassEntry, type PassJournal } from "../store.js";
import type { PgContext } from "./context.js";

/** The pass journal: rows numbered per resource (the next after the highest), the oldest past the limit deleted in the same transaction. */
export function pgPassJournal(ctx: PgContext, limit = PASS_HISTORY_LIMIT): PassJournal {
  const { db } = ctx;
  return {
    async appendPass(id, entry) {
      await db.tx(async (q) => {
        const rows = await q(
          "INSERT INTO @.pass_journal (source, resource, n, entry) SELECT $1, $2, coalesce(max(n), 0) + 1, $3 FROM @.pass_journal WHERE source = $1 AND resource = $2 RETURNING n",
          [id.source, id.resource, JSON.stringify(entry)],
        );
        const n = Number(rows[0]!.n);
        if (n > limit) await q("DELETE FROM @.pass_journal WHERE source = $1 AND resource = $2 AND n <= $3", [id.source, id.resource, n - limit]);
      });
    },
    async listPasses(id) {
      const rows = await db.query("SELECT entry FROM @.pass_journal WHERE source = $1 AND resource = $2 ORDER BY n", [id.source, id.resource]);
      return rows.map((row) => JSON.parse(row.entry as string) as PassEntry);
    },
  };
}
