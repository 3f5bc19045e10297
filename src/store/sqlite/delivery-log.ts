import type { DeliveryLog, DeliveryLogEntry } from "../store.js";
import { pad, type SqliteContext } from "./context.js";
import type { KvOp } from "./kv.js";

/** The delivery log: `l/<target>/<n>` with a per-target counter `m/l/<target>`, the oldest trimmed past `logLimit`. */
export function sqliteDeliveryLog(ctx: SqliteContext): DeliveryLog {
  const { kv } = ctx;
  return {
    async appendLog(entry) {
      kv.write(logOps(ctx, [entry]));
    },
    async listLog(filter) {
      const rows = kv.range(filter.target ? `l/${filter.target}/` : "l/").map(([, value]) => JSON.parse(value) as DeliveryLogEntry & { n: number });
      rows.sort((a, b) => b.n - a.n);
      return rows.slice(0, filter.limit ?? 100).map(({ n: _n, ...entry }) => entry);
    },
  };
}

/**
 * Must run inside a transaction: numbers `entries` with the per-target log counter (read and
 * bumped once per target), trims the oldest past `logLimit` (one range delete per target: the
 * entries a batch pushes out of the window are next to each other).
 */
export function logOps(ctx: SqliteContext, entries: readonly DeliveryLogEntry[]): KvOp[] {
  const ops: KvOp[] = [];
  const counters = new Map<string, { target: string; before: number; n: number }>();
  for (const entry of entries) {
    let counter = counters.get(entry.target);
    if (!counter) {
      const before = Number(ctx.kv.getRaw(`m/l/${entry.target}`) ?? 0);
      counter = { target: entry.target, before, n: before };
      counters.set(entry.target, counter);
    }
    counter.n += 1;
    ops.push({ key: `l/${entry.target}/${pad(counter.n)}`, value: JSON.stringify({ ...entry, n: counter.n }) });
  }
  for (const { target, before, n } of counters.values()) {
    ops.push({ key: `m/l/${target}`, value: String(n) });
    // Entries numbered up to `n - logLimit` leave; those up to `before - logLimit` already left.
    const from = Math.max(1, before - ctx.logLimit + 1);
    const through = n - ctx.logLimit;
    if (through >= from) ops.push({ key: `l/${target}/${pad(from)}`, through: `l/${target}/${pad(through)}`, delete: true });
  }
  return ops;
}
