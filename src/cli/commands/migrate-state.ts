import { EXIT_OK, UsageError } from "../../errors.js";
import { redactStateUrl, stateUrlPassword } from "../../store/url.js";
import { registerSecrets } from "../../telemetry/logger.js";
import type { Command } from "./command.js";

export const migrateStateCommand: Command = {
  name: "migrate-state",
  summary: "move a SQLite state file into PostgreSQL (no new baseline, nothing lost)",
  help: `Usage: retrohook migrate-state --from sqlite:///path/state.sqlite --to postgres://user:password@host:5432/db?schema=retrohook

Copies everything the SQLite state holds — cursors, snapshots, page marks, events, pending
deliveries, dead letters, the delivery log, budgets, suspensions, facts, the pass history
explain reads, the bodies targets' filters and transforms fixed, the overview's charts — into an empty
PostgreSQL schema, in one transaction, keeping the state's epoch so event ids do not change.
Stop the daemon first; the SQLite file is only read. Then set state.url to the postgres:// URL
and start retrohook: it goes on where it stopped, delivering what was pending once.
`,
  options: { from: { type: "string" }, to: { type: "string" } },
  async run(values, io) {
    const from = values.from as string | undefined;
    const to = values.to as string | undefined;
    if (!from || !to) throw new UsageError("give --from sqlite://FILE and --to postgres://…");
    registerSecrets([stateUrlPassword(to)]);
    const { migrateState } = await import("../../store/migrate-state.js");
    const moved = await migrateState(from, to);
    const summary = Object.entries(moved).map(([what, n]) => `${n} ${what}`).join(", ");
    io.out(`moved ${redactStateUrl(from)} → ${redactStateUrl(to)}: ${summary}\nset state.url to the postgres:// URL and start retrohook: it goes on where it stopped\n`);
    return EXIT_OK;
  },
};
