import { staleChangeMarks } from "../../core/page-marks.js";
import { parseRefKey, refKey, type Snapshot } from "../../core/types.js";
import { crashPoint } from "../../testing/fault-injection.js";
import type { ResourceId, SnapshotStore, SnapshotWrite } from "../store.js";
import { baselineOps, decodeSnapshot, encodeSnapshot } from "./codec.js";
import { prefixOf, settled, type SqliteContext } from "./context.js";
import type { KvOp } from "./kv.js";

/** Baseline batches smaller than this are written on the calling thread (no writer thread for small resources). */
const BASELINE_THREAD_MIN = 50;

/**
 * The rows of a snapshot write: snapshots, tombstones, change marks and the write sequence
 * (`m/wseq`, advanced unless every write is a first one: then `changeSeq` is undefined). Written
 * in the caller's transaction; `ctx.writeSeq` takes `changeSeq` once it is committed.
 */
export function snapshotOps(ctx: SqliteContext, id: ResourceId, writes: readonly SnapshotWrite[]): { ops: KvOp[]; changeSeq: number | undefined } {
  const prefix = prefixOf(id);
  const ops: KvOp[] = [];
  const changeSeq = ctx.writeSeq + 1;
  let marked = false;
  for (const write of writes) {
    const key = refKey(write);
    if (!write.fresh) {
      ops.push({ key: `w/${prefix}${key}`, value: String(changeSeq) });
      marked = true;
    }
    if (write.snapshot.gone) {
      ops.push({ key: `s/${prefix}${key}`, delete: true });
      ops.push({ key: `t/${prefix}${key}`, value: String(write.snapshot.version) });
    } else {
      ops.push({ key: `s/${prefix}${key}`, value: encodeSnapshot(write.snapshot) });
      if (write.revived) ops.push({ key: `t/${prefix}${key}`, delete: true });
    }
  }
  if (marked) ops.push({ key: "m/wseq", value: String(changeSeq) });
  return { ops, changeSeq: marked ? changeSeq : undefined };
}

/** Snapshots (`s/`), tombstones (`t/`), change marks (`w/`) and page marks (`p/`). */
export function sqliteSnapshots(ctx: SqliteContext): SnapshotStore {
  const { kv } = ctx;
  const seqsUnder = (prefix: string): Map<string, number> => new Map(kv.range(prefix).map(([key, value]) => [key.slice(prefix.length), Number(value)]));

  return {
    async getSnapshots(id, refs) {
      await settled(ctx, id);
      const prefix = prefixOf(id);
      const live = kv.getManyRaw(refs.map((ref) => `s/${prefix}${refKey(ref)}`));
      const out = new Map<string, Snapshot>();
      const missing: string[] = [];
      for (const ref of refs) {
        const key = refKey(ref);
        const raw = live.get(`s/${prefix}${key}`);
        if (raw === undefined) missing.push(key);
        else out.set(key, decodeSnapshot(raw));
      }
      if (missing.length > 0) {
        const dead = kv.getManyRaw(missing.map((key) => `t/${prefix}${key}`));
        for (const key of missing) {
          const raw = dead.get(`t/${prefix}${key}`);
          if (raw !== undefined) out.set(key, { version: Number(raw), fingerprint: "", json: "", gone: true });
        }
      }
      return out;
    },

    async putSnapshots(id, writes) {
      await settled(ctx, id);
      const { ops, changeSeq } = snapshotOps(ctx, id, writes);
      kv.transaction(() => {
        kv.apply(ops);
        crashPoint("store:snapshots-before-commit");
      });
      if (changeSeq !== undefined) ctx.writeSeq = changeSeq;
    },

    async putBaseline(id, origin, refs) {
      const prefix = prefixOf(id);
      const keys = refs.map(refKey);
      if (ctx.baselines && refs.length >= BASELINE_THREAD_MIN) return ctx.baselines.write(prefix, origin, keys);
      await settled(ctx, id);
      const ops = baselineOps(prefix, origin, keys);
      kv.transaction(() => {
        kv.apply(ops);
        crashPoint("store:snapshots-before-commit");
      });
    },

    async snapshotSeq() {
      return ctx.writeSeq;
    },

    async getPageMarks(id) {
      await settled(ctx, id);
      return { pages: seqsUnder(`p/${id.source}/${id.resource}/`), changed: seqsUnder(`w/${id.source}/${id.resource}/`), seq: ctx.writeSeq };
    },

    async putPageMarks(id, pages, complete) {
      await settled(ctx, id);
      const pagePrefix = `p/${id.source}/${id.resource}/`;
      const changePrefix = `w/${id.source}/${id.resource}/`;
      kv.transaction(() => {
        if (complete) kv.deletePrefix(pagePrefix);
        kv.apply([...pages].map(([digest, since]) => ({ key: `${pagePrefix}${digest}`, value: String(since) })));
        if (complete) {
          const stale = staleChangeMarks(pages, seqsUnder(changePrefix));
          kv.apply(stale.map((key) => ({ key: `${changePrefix}${key}`, delete: true as const })));
        }
      });
    },

    async listSnapshotRefs(id) {
      await settled(ctx, id);
      const prefix = `s/${id.source}/${id.resource}/`;
      return kv.keys(prefix).map((key) => parseRefKey(key.slice(prefix.length)));
    },

    async hasSnapshots(id) {
      await settled(ctx, id);
      return kv.lastUnder(`s/${id.source}/${id.resource}/`) !== undefined || kv.lastUnder(`t/${id.source}/${id.resource}/`) !== undefined;
    },

    async countSnapshots(id) {
      await settled(ctx, id);
      return kv.count(`s/${id.source}/${id.resource}/`);
    },

    async clearResource(id) {
      await settled(ctx, id);
      kv.transaction(() => {
        kv.deletePrefix(`s/${id.source}/${id.resource}/`);
        kv.deletePrefix(`t/${id.source}/${id.resource}/`);
        kv.deletePrefix(`w/${id.source}/${id.resource}/`);
        kv.deletePrefix(`p/${id.source}/${id.resource}/`);
        // What a pass staged, with its journal (page-commit.ts).
        kv.deletePrefix(`g/${id.source}/${id.resource}/`);
        kv.deletePrefix(`u/${id.source}/${id.resource}/`);
      });
      await ctx.keyv.delete(`rs/${id.source}/${id.resource}`);
    },
  };
}
