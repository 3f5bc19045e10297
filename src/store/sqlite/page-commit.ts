import { crashPoint } from "../../testing/fault-injection.js";
import type { PageCommit } from "../store.js";
import { settled, type SqliteContext } from "./context.js";
import { enqueueRows } from "./outbox.js";
import { snapshotOps } from "./snapshots.js";

/** A pass's page: its events and its snapshots in one SQLite transaction. */
export function sqlitePageCommit(ctx: SqliteContext): PageCommit {
  const { kv } = ctx;
  return {
    async commitPage(id, items, writes) {
      // After every baseline write in flight (their thread holds the writer lock); a failed one of this resource fails this write.
      await settled(ctx, id);
      const now = ctx.clock.now();
      const { ops, changeSeq } = snapshotOps(ctx, id, writes);
      const created = kv.transaction(() => {
        const deliveries = items.length > 0 ? enqueueRows(ctx, items, now) : [];
        if (ops.length > 0) {
          kv.write(ops);
          crashPoint("store:snapshots-before-commit");
        }
        return deliveries;
      });
      if (changeSeq !== undefined) ctx.writeSeq = changeSeq;
      return created;
    },
  };
}
