import type { DeliveryLog, DeliveryLogEntry } from "../store.js";
import { pad, type SqliteContext } from "./context.js";
import type { KvOp } from "./kv.js";

/** The delivery log: `l/<target>/<n>` with a per-target counter `m/l/<target>`, the oldest trimmed past `logLimit`. */
export function sqliteDeliveryLog(ctx: SqliteContext): DeliveryLog {
  const { kv } = ctx;
  return {
    async appendLog(entry) {
      kv.transaction(() => kv.write(logOps(ctx, entry)));
    },
    async listLog(filter) {
      const rows = kv.range(filter.target ? `l/${filter.target}/` : "l/").map(([, value]) => JSON.parse(value) as DeliveryLogEntry & { n: number });
      rows.sort((a, b) => b.n - a.n);
      return rows.slice(0, filter.limit ?? 100).map(({ n: _n, ...entry }) => entry);
    },
  };
}

/** Must run inside a transaction: reads and bumps the per-target log counter, trims the oldest. */
export function logOps(ctx: SqliteContext, entry: DeliveryLogEntry): KvOp[] {
  const counterKey = `m/l/${entry.target}`;
  const n = Number(ctx.kv.getRaw(counterKey) ?? 0) + 1;
  const ops: KvOp[] = [
    { key: counterKey, value: String(n) },
    { key: `l/${entry.target}/${pad(n)}`, value: JSON.stringify({ ...entry, n }) },
  ];
  if (n > ctx.logLimit) ops.push({ key: `l/${entry.target}/${pad(n - ctx.logLimit)}`, delete: true });
  return ops;
}
