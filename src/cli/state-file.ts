import { systemClock } from "../clock.js";
import type { Config } from "../config/types.js";
import { BudgetGate } from "../pipeline/budget.js";
import { openStateStore, stateNotCreated } from "../store/open.js";
import type { StateStore } from "../store/store.js";
import type { Io } from "./io.js";

export interface StateFileView {
  config: Config;
  store: StateStore;
  now: number;
  budgets: Map<string, BudgetGate>;
}

/** Reads the state file without changing it (no daemon holds it): what `status` and `explain` show then. */
export async function readStateFile<T>(config: Config, io: Io, read: (view: StateFileView) => Promise<T>): Promise<T> {
  const missing = stateNotCreated(config.state.url);
  if (missing) io.err(`note: ${missing} yet: nothing has run\n`);
  const store = await openStateStore(config.state.url, { readOnly: true });
  try {
    const clock = systemClock();
    const budgets = new Map(config.sources.map((s) => [s.name, new BudgetGate(s, store, clock)]));
    return await read({ config, store, now: clock.now(), budgets });
  } finally {
    await store.close();
  }
}
