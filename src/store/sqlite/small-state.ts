import type { SmallState } from "../store.js";
import { settled, type SqliteContext } from "./context.js";

/** Resource and source state, target state and budgets: JSON records through keyv. */
export function sqliteSmallState(ctx: SqliteContext): SmallState {
  const { keyv } = ctx;
  // One process writes a state file: the series' updates only have to take turns within it.
  let seriesTurn: Promise<unknown> = Promise.resolve();
  return {
    async getResourceState(id) {
      await settled(ctx, id);
      return (await keyv.get(`rs/${id.source}/${id.resource}`)) ?? undefined;
    },
    async putResourceState(id, state) {
      await settled(ctx, id);
      await keyv.set(`rs/${id.source}/${id.resource}`, state);
    },
    async getSourceState(source) {
      return (await keyv.get(`ss/${source}`)) ?? undefined;
    },
    async putSourceState(source, state) {
      await keyv.set(`ss/${source}`, state);
    },
    async getTargetState(target) {
      return (await keyv.get(`ts/${target}`)) ?? undefined;
    },
    async putTargetState(target, state) {
      await keyv.set(`ts/${target}`, state);
    },
    async getBudget(source) {
      return (await keyv.get(`b/${source}`)) ?? undefined;
    },
    async putBudget(source, budget) {
      await keyv.set(`b/${source}`, budget);
    },
    async getSeries() {
      return (await keyv.get("series")) ?? undefined;
    },
    async putSeries(series) {
      await keyv.set("series", series);
    },
    updateSeries(apply) {
      const update = seriesTurn.then(async () => {
        await keyv.set("series", apply((await keyv.get("series")) ?? undefined));
      });
      seriesTurn = update.catch(() => undefined);
      return update;
    },
  };
}
