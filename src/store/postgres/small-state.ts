import type { BudgetState, ResourceState, SeriesState, SmallState, SourceState, TargetState } from "../store.js";
import { settled, type PgContext } from "./context.js";

const EMPTY_SERIES = JSON.stringify({ hours: [] } satisfies SeriesState);

/** Resource state (cursor, generation, …), source state (suspensions, back-offs, facts), target state: jsonb rows. */
export function pgSmallState(ctx: PgContext): SmallState {
  const { db } = ctx;
  const one = async <T>(text: string, values: unknown[]): Promise<T | undefined> => (await db.query(text, values))[0]?.state as T | undefined;
  return {
    async getResourceState(id) {
      await settled(ctx, id);
      return one<ResourceState>("SELECT state FROM @.resource_state WHERE source = $1 AND resource = $2", [id.source, id.resource]);
    },
    async putResourceState(id, state) {
      // Never a cursor before the snapshots it covers.
      await settled(ctx, id);
      await db.write("INSERT INTO @.resource_state (source, resource, state) SELECT $1, $2, $3::jsonb WHERE @fenced ON CONFLICT (source, resource) DO UPDATE SET state = excluded.state", [id.source, id.resource, JSON.stringify(state)]);
    },
    getSourceState: (source) => one<SourceState>("SELECT state FROM @.source_state WHERE source = $1", [source]),
    async putSourceState(source, state) {
      await db.write("INSERT INTO @.source_state (source, state) SELECT $1, $2::jsonb WHERE @fenced ON CONFLICT (source) DO UPDATE SET state = excluded.state", [source, JSON.stringify(state)]);
    },
    getTargetState: (target) => one<TargetState>("SELECT state FROM @.target_state WHERE target = $1", [target]),
    async putTargetState(target, state) {
      await db.write("INSERT INTO @.target_state (target, state) SELECT $1, $2::jsonb WHERE @fenced ON CONFLICT (target) DO UPDATE SET state = excluded.state", [target, JSON.stringify(state)]);
    },
    async getBudget(source) {
      const row = (await db.query("SELECT period, used FROM @.budgets WHERE source = $1", [source]))[0];
      return row ? ({ period: row.period as string, used: Number(row.used) } satisfies BudgetState) : undefined;
    },
    async putBudget(source, budget) {
      await db.write("INSERT INTO @.budgets (source, period, used) SELECT $1, $2::text, $3::bigint WHERE @fenced ON CONFLICT (source) DO UPDATE SET period = excluded.period, used = excluded.used", [source, budget.period, budget.used]);
    },
    // The overview's series: one JSON value in the meta table (no table of its own).
    async getSeries() {
      const row = (await db.query("SELECT value FROM @.meta WHERE key = 'series'", []))[0];
      return row ? (JSON.parse(row.value as string) as SeriesState) : undefined;
    },
    async putSeries(series) {
      await db.write("INSERT INTO @.meta (key, value) SELECT 'series', $1::text WHERE @fenced ON CONFLICT (key) DO UPDATE SET value = excluded.value", [JSON.stringify(series)]);
    },
    async updateSeries(apply) {
      await db.tx(async (q) => {
        // The row exists before it is locked, so two first samples cannot both insert it.
        await q(`INSERT INTO @.meta (key, value) VALUES ('series', '${EMPTY_SERIES}') ON CONFLICT (key) DO NOTHING`);
        const row = (await q("SELECT value FROM @.meta WHERE key = 'series' FOR UPDATE"))[0]!;
        await q("UPDATE @.meta SET value = $1 WHERE key = 'series'", [JSON.stringify(apply(JSON.parse(row.value as string) as SeriesState))]);
      });
    },
  };
}
