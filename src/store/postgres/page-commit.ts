import { crashPoint } from "../../testing/fault-injection.js";
import type { Delivery, PageCommit } from "../store.js";
import { settled, type PgContext } from "./context.js";
import { enqueueRows } from "./outbox.js";
import { upsertSnapshots } from "./snapshots.js";

/** A pass's page: its events and its snapshots in one transaction, fenced on a replica (db.ts `tx`). */
export function pgPageCommit(ctx: PgContext): PageCommit {
  const { db } = ctx;
  return {
    async commitPage(id, items, writes) {
      await settled(ctx, id);
      if (items.length === 0 && writes.length === 0) return [];
      const now = ctx.clock.now();
      return db.tx(
        async (q) => {
          let created: Delivery[] = [];
          if (items.length > 0) {
            created = await enqueueRows(ctx, q, items, now);
            crashPoint("store:enqueue-before-commit");
          }
          await upsertSnapshots(q, id, writes);
          return created;
        },
        writes.length > 0 ? "store:snapshots-before-commit" : undefined,
      );
    },
  };
}
