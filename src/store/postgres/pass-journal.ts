import { PASS_HISTORY_LIMIT, type PassEntry, type PassJournal } from "../store.js";
import type { PgContext } from "./context.js";

/** The pass journal: rows numbered per resource (the next after the highest), the oldest past the limit deleted in the same statement. */
export function pgPassJournal(ctx: PgContext, limit = PASS_HISTORY_LIMIT): PassJournal {
  const { db } = ctx;
  return {
    async appendPass(id, entry) {
      // One statement (under a fence, its check included): the row after the highest, and the
      // rows past the limit counted from that same highest (both read from one snapshot).
      await db.write(
        [
          "INSERT INTO @.pass_journal (source, resource, n, entry) SELECT $1, $2, coalesce(max(n), 0) + 1, $3::text FROM @.pass_journal WHERE source = $1 AND resource = $2 HAVING @fenced",
          "DELETE FROM @.pass_journal WHERE @fenced AND source = $1 AND resource = $2 AND n <= (SELECT coalesce(max(n), 0) + 1 FROM @.pass_journal WHERE source = $1 AND resource = $2) - $4::bigint",
        ],
        [id.source, id.resource, JSON.stringify(entry), limit],
      );
    },
    async listPasses(id) {
      const rows = await db.query("SELECT entry FROM @.pass_journal WHERE source = $1 AND resource = $2 ORDER BY n", [id.source, id.resource]);
      return rows.map((row) => JSON.parse(row.entry as string) as PassEntry);
    },
  };
}
