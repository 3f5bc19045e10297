import { refKey } from "../../core/types.js";
import { crashPoint } from "../../testing/fault-injection.js";
import type { EnqueueItem, PageCommit, ResourceId, SnapshotWrite } from "../store.js";
import { pad, prefixOf, settled, type SqliteContext } from "./context.js";
import type { KvOp } from "./kv.js";
import { enqueueRows } from "./outbox.js";
import { snapshotOps } from "./snapshots.js";

/**
 * A pass's page: its events and its snapshots in one SQLite transaction. A later pass stages
 * its events (`g/<source>/<resource>/<n>`: the enqueue item's JSON) and journals the snapshots
 * it changes (`u/<source>/<resource>/<ref key>`: "" none before, `t<version>` a tombstone,
 * `s<stored snapshot>`), until it releases or discards them (docs/decisions/0014).
 */
export function sqlitePageCommit(ctx: SqliteContext): PageCommit {
  const { kv } = ctx;
  const staging = (id: ResourceId): string => `g/${prefixOf(id)}`;
  const journal = (id: ResourceId): string => `u/${prefixOf(id)}`;

  /** Stages `items` after those already staged; the caller's transaction. */
  const stage = (id: ResourceId, items: EnqueueItem[]): void => {
    const last = kv.lastUnder(staging(id));
    let n = last ? Number(last[0].slice(staging(id).length)) : 0;
    kv.apply(items.map((item) => ({ key: `${staging(id)}${pad(++n)}`, value: JSON.stringify(item) })));
  };

  /** The before-image of each record not journaled yet; the caller's transaction, before the writes. */
  const journalBefore = (id: ResourceId, writes: SnapshotWrite[]): void => {
    const prefix = prefixOf(id);
    const keys = [...new Set(writes.map(refKey))];
    const known = kv.getManyRaw(keys.map((key) => `${journal(id)}${key}`));
    const fresh = keys.filter((key) => !known.has(`${journal(id)}${key}`));
    if (fresh.length === 0) return;
    const live = kv.getManyRaw(fresh.map((key) => `s/${prefix}${key}`));
    const dead = kv.getManyRaw(fresh.map((key) => `t/${prefix}${key}`));
    kv.apply(
      fresh.map((key) => {
        const snapshot = live.get(`s/${prefix}${key}`);
        const tombstone = dead.get(`t/${prefix}${key}`);
        return { key: `${journal(id)}${key}`, value: snapshot !== undefined ? `s${snapshot}` : tombstone !== undefined ? `t${tombstone}` : "" };
      }),
    );
  };

  return {
    async commitPage(id, items, writes, staged = false) {
      // After every baseline write in flight (their thread holds the writer lock); a failed one of this resource fails this write.
      await settled(ctx, id);
      const now = ctx.clock.now();
      const { ops, changeSeq } = snapshotOps(ctx, id, writes);
      const created = kv.transaction(() => {
        const deliveries = items.length > 0 && !staged ? enqueueRows(ctx, items, now) : [];
        if (staged && items.length > 0) {
          stage(id, items);
          crashPoint("store:enqueue-before-commit");
        }
        if (ops.length > 0) {
          if (staged) journalBefore(id, writes);
          kv.apply(ops);
          crashPoint("store:snapshots-before-commit");
        }
        return deliveries;
      });
      if (changeSeq !== undefined) ctx.writeSeq = changeSeq;
      return created;
    },

    async releaseStaged(id) {
      await settled(ctx, id);
      // Every later pass ends here: most staged nothing, and need no write transaction.
      if (kv.lastUnder(staging(id)) === undefined && kv.lastUnder(journal(id)) === undefined) return { deliveries: [], items: [] };
      const now = ctx.clock.now();
      return kv.transaction(() => {
        const items = kv.range(staging(id)).map(([, value]) => JSON.parse(value) as EnqueueItem);
        const deliveries = items.length > 0 ? enqueueRows(ctx, items, now) : [];
        kv.deletePrefix(staging(id));
        kv.deletePrefix(journal(id));
        return { deliveries, items };
      });
    },

    async discardStaged(id) {
      await settled(ctx, id);
      const prefix = prefixOf(id);
      const changeSeq = ctx.writeSeq + 1;
      const dropped = kv.transaction(() => {
        const count = kv.count(staging(id));
        const ops: KvOp[] = [];
        for (const [key, before] of kv.range(journal(id))) {
          const record = key.slice(journal(id).length);
          // A restored snapshot is a change like any other: marked, so no page mark skips it.
          ops.push({ key: `w/${prefix}${record}`, value: String(changeSeq) });
          if (before.startsWith("s")) ops.push({ key: `s/${prefix}${record}`, value: before.slice(1) }, { key: `t/${prefix}${record}`, delete: true });
          else if (before.startsWith("t")) ops.push({ key: `s/${prefix}${record}`, delete: true }, { key: `t/${prefix}${record}`, value: before.slice(1) });
          else ops.push({ key: `s/${prefix}${record}`, delete: true }, { key: `t/${prefix}${record}`, delete: true });
        }
        if (ops.length > 0) kv.apply([...ops, { key: "m/wseq", value: String(changeSeq) }]);
        kv.deletePrefix(staging(id));
        kv.deletePrefix(journal(id));
        return { count, restored: ops.length > 0 };
      });
      if (dropped.restored) ctx.writeSeq = changeSeq;
      return dropped.count;
    },

    async stagedResources() {
      const found = new Map<string, ResourceId>();
      for (const prefix of ["g/", "u/"]) {
        // One indexed seek per resource: keys are `<prefix><source>/<resource>/…` (names hold no `/`).
        for (let next = kv.rangeAfter(prefix, prefix, 1)[0]; next; ) {
          const [source, resource] = next[0].slice(prefix.length).split("/") as [string, string];
          found.set(`${source}/${resource}`, { source, resource });
          next = kv.rangeAfter(prefix, `${prefix}${source}/${resource}/\uffff`, 1)[0];
        }
      }
      return [...found.values()];
    },
  };
}
