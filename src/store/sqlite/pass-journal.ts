import { PASS_HISTORY_LIMIT, type PassEntry, type PassJournal, type ResourceId } from "../store.js";
import { pad, type SqliteContext } from "./context.js";
import type { KvOp } from "./kv.js";

/**
 * The pass journal: `h/<source>/<resource>/<n>` holds one pass as JSON, numbered by the counter
 * `m/h/<source>/<resource>`; an append past the limit deletes the oldest entry in the same
 * transaction, so the journal never outgrows PASS_HISTORY_LIMIT passes per resource.
 */
export function sqlitePassJournal(ctx: SqliteContext, limit = PASS_HISTORY_LIMIT): PassJournal {
  const { kv } = ctx;
  const prefix = (id: ResourceId): string => `h/${id.source}/${id.resource}/`;
  return {
    async appendPass(id, entry) {
      kv.transaction(() => {
        const counterKey = `m/h/${id.source}/${id.resource}`;
        const n = Number(kv.getRaw(counterKey) ?? 0) + 1;
        const ops: KvOp[] = [
          { key: counterKey, value: String(n) },
          { key: `${prefix(id)}${pad(n)}`, value: JSON.stringify(entry) },
        ];
        if (n > limit) ops.push({ key: `${prefix(id)}${pad(n - limit)}`, delete: true });
        kv.write(ops);
      });
    },
    async listPasses(id) {
      return kv.range(prefix(id)).map(([, value]) => JSON.parse(value) as PassEntry);
    },
  };
}
