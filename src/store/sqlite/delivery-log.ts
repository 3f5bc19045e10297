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
 * bumped once per target), trims the oldest past `logLimit`.
 */
export function logOps(ctx: SqliteContext, entries: readonly DeliveryLogEntry[]): KvOp[] {
  const ops: KvOp[] = [];
  const counters = new Map<string, number>();
  for (const entry of entries) {
    const counterKey = `m/l/${entry.target}`;
    const n = (counters.get(counterKey) ?? Number(ctx.kv.getRaw(counterKey) ?? 0)) + 1;
    counters.set(counterKey, n);
    ops.push({ key: `l/${entry.target}/${pad(n)}`, value: JSON.stringify({ ...entry, n }) });
    if (n > ctx.logLimit) ops.push({ key: `l/${entry.target}/${pad(n - ctx.logLimit)}`, delete: true });
  }
  for (const [key, n] of counters) ops.push({ key, value: String(n) });
  return ops;
}
