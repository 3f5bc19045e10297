import { STATE_KINDS, stepBudget, type PrunableKind, type StateKind, type StateRetention, type StateSizes } from "../store.js";
import { lockEvents, type PgContext } from "./context.js";

/** Tables by the kind `status` sizes them as; the rest (state, counters, meta) is `other`. */
const KIND_OF_TABLE: Record<string, StateKind> = {
  snapshots: "snapshots",
  page_marks: "snapshots",
  events: "events",
  fixed_bodies: "fixed_bodies",
  outbox: "pending",
  dead_letters: "dead_letters",
  delivery_log: "delivery_log",
  log_counters: "delivery_log",
  pass_journal: "pass_journal",
};

/**
 * Retention on PostgreSQL (docs/decisions/0015): every step is one short transaction over at
 * most `limit` rows found through an index (events by `n`, the log and the journal by their
 * primary keys, dead letters by `seq`), so it never holds locks for long; an event stays while
 * a pending delivery or a dead letter refers to it (checked in the deleting statement itself,
 * under the lock `requeueEvent` takes shared, so a requeue in flight is seen).
 * After a sweep that removed rows, `reclaimSpace` runs a plain VACUUM of the pruned tables
 * (space is reused; nothing is locked against writes). Horizons: `meta` keys `pruned/<kind>`.
 * A step deletes in chunks of `CHUNK` rows and stops after the chunk that spent its time budget.
 */
export function pgRetention(ctx: PgContext): StateRetention {
  const { db } = ctx;
  let eventsAfter = 0;
  let deadAfter = 0;
  let vacuumDue = false;

  const finish = async (kind: PrunableKind, before: number): Promise<void> => {
    await db.query("INSERT INTO @.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [`pruned/${kind}`, new Date(before).toISOString()]);
  };

  /** Oldest rows first per group (`groups` lists them, `list` reads the oldest after `n`): removes those stamped before `before`, a chunk at a time. */
  const oldestFirst = async (
    groups: Array<Record<string, unknown>>,
    list: (group: Record<string, unknown>, limit: number) => Promise<Array<{ n: number; at: string }>>,
    remove: (group: Record<string, unknown>, upTo: number) => Promise<number>,
    before: number,
    limit: number,
    time: Budget,
  ): Promise<{ removed: number; done: boolean }> => {
    let budget = limit;
    let removed = 0;
    for (const group of groups) {
      for (;;) {
        const chunk = Math.min(budget, CHUNK);
        const rows = await list(group, chunk);
        let upTo: number | undefined;
        let reached = false;
        for (const row of rows) {
          budget -= 1;
          if ((reached = Date.parse(row.at) >= before)) break;
          upTo = row.n;
        }
        if (upTo !== undefined) removed += await remove(group, upTo);
        if (budget <= 0 || (upTo !== undefined && time.spent())) return { removed, done: false };
        if (reached || rows.length < chunk) break;
      }
    }
    return { removed, done: true };
  };

  const steps: Record<PrunableKind, (before: number, limit: number, time: Budget) => Promise<{ removed: number; done: boolean }>> = {
    async events(before, limit, time) {
      const rows = await db.query("SELECT id, n, body::json->>'detected_at' AS at FROM @.events WHERE n > $1 ORDER BY n LIMIT $2", [eventsAfter, limit]);
      const old: Array<{ id: string; n: number }> = [];
      let reached = false;
      for (const row of rows) {
        if (Date.parse(row.at as string) >= before) {
          reached = true;
          break;
        }
        old.push({ id: row.id as string, n: Number(row.n) });
      }
      let removed = 0;
      let looked = 0;
      while (looked < old.length) {
        const chunk = old.slice(looked, looked + CHUNK);
        removed += await db.tx(async (q) => {
          await lockEvents(q, db.target.schema, "exclusive");
          const gone = await q(
            "DELETE FROM @.events e WHERE e.id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM @.outbox o WHERE o.event_id = e.id) AND NOT EXISTS (SELECT 1 FROM @.dead_letters d WHERE d.event_id = e.id) RETURNING e.id",
            [chunk.map((e) => e.id)],
          );
          if (gone.length > 0) await q("DELETE FROM @.fixed_bodies WHERE event_id = ANY($1::text[])", [gone.map((r) => r.id as string)]);
          return gone.length;
        });
        looked += chunk.length;
        eventsAfter = chunk[chunk.length - 1]!.n;
        if (time.spent()) break;
      }
      if (looked < old.length) return { removed, done: false };
      if (reached || rows.length < limit) {
        eventsAfter = 0;
        await finish("events", before);
        return { removed, done: true };
      }
      return { removed, done: false };
    },

    async delivery_log(before, limit, time) {
      const result = await oldestFirst(
        await db.query("SELECT target FROM @.log_counters ORDER BY target"),
        async (g, n) => (await db.query("SELECT n, entry::json->>'at' AS at FROM @.delivery_log WHERE target = $1 ORDER BY n LIMIT $2", [g.target, n])) as Array<{ n: number; at: string }>,
        async (g, upTo) => (await db.query("DELETE FROM @.delivery_log WHERE target = $1 AND n <= $2 RETURNING n", [g.target, upTo])).length,
        before,
        limit,
        time,
      );
      if (result.done) await finish("delivery_log", before);
      return result;
    },

    async pass_journal(before, limit, time) {
      const result = await oldestFirst(
        await db.query("SELECT DISTINCT source, resource FROM @.pass_journal"),
        async (g, n) => (await db.query("SELECT n, entry::json->>'at' AS at FROM @.pass_journal WHERE source = $1 AND resource = $2 ORDER BY n LIMIT $3", [g.source, g.resource, n])) as Array<{ n: number; at: string }>,
        async (g, upTo) => (await db.query("DELETE FROM @.pass_journal WHERE source = $1 AND resource = $2 AND n <= $3 RETURNING n", [g.source, g.resource, upTo])).length,
        before,
        limit,
        time,
      );
      if (result.done) await finish("pass_journal", before);
      return result;
    },

    async dead_letters(before, limit, time) {
      const rows = await db.query("SELECT seq, letter->>'at' AS at FROM @.dead_letters WHERE seq > $1 ORDER BY seq LIMIT $2", [deadAfter, limit]);
      let removed = 0;
      for (let from = 0; from < rows.length; from += CHUNK) {
        const chunk = rows.slice(from, from + CHUNK);
        const old = chunk.filter((row) => Date.parse(row.at as string) < before).map((row) => Number(row.seq));
        if (old.length > 0) removed += (await db.query("DELETE FROM @.dead_letters WHERE seq = ANY($1::bigint[]) RETURNING seq", [old])).length;
        deadAfter = Number(chunk[chunk.length - 1]!.seq);
        if (old.length > 0 && from + CHUNK < rows.length && time.spent()) return { removed, done: false };
      }
      if (rows.length < limit) {
        deadAfter = 0;
        await finish("dead_letters", before);
        return { removed, done: true };
      }
      return { removed, done: false };
    },
  };

  return {
    async pruneStep(kind, before, limit, budgetMs) {
      const result = await steps[kind](before, Math.max(1, limit), stepBudget(budgetMs));
      if (result.removed > 0) vacuumDue = true;
      return result;
    },

    async reclaimSpace() {
      if (!vacuumDue || db.readOnly) return 0;
      vacuumDue = false;
      await db.query("VACUUM @.events, @.fixed_bodies, @.delivery_log, @.dead_letters, @.pass_journal");
      return 0;
    },

    async stateSizes() {
      const kinds = Object.fromEntries(STATE_KINDS.map((kind) => [kind, { count: 0, bytes: 0 }])) as StateSizes["kinds"];
      const tables = await db.query("SELECT tablename AS name, pg_total_relation_size(format('%I.%I', schemaname, tablename)) AS size FROM pg_tables WHERE schemaname = $1", [db.target.schema]);
      let fileBytes = 0;
      for (const table of tables) {
        const name = table.name as string;
        fileBytes += Number(table.size);
        const [row] = await db.query(`SELECT count(*) AS n, coalesce(sum(pg_column_size(t.*)), 0) AS b FROM @.${quoteIdent(name)} t`);
        const size = kinds[KIND_OF_TABLE[name] ?? "other"];
        size.count += Number(row!.n);
        size.bytes += Number(row!.b);
      }
      return { kinds, fileBytes, freeBytes: 0, reclaim: "VACUUM after each sweep that removed rows, and autovacuum: space is reused, the tables do not shrink" };
    },

    async pruneHorizons() {
      const rows = await db.query("SELECT key, value FROM @.meta WHERE key LIKE 'pruned/%'");
      return Object.fromEntries(rows.map((row) => [(row.key as string).slice("pruned/".length), row.value as string]));
    },
  };
}

/** Rows one statement of a step deletes at most; the step's time budget is checked between them. */
const CHUNK = 50;

type Budget = ReturnType<typeof stepBudget>;

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
