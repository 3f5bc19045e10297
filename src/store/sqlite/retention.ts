import { setImmediate as yieldToLoop } from "node:timers/promises";
import { STATE_KINDS, stepBudget, type PrunableKind, type StateKind, type StateRetention, type StateSizes } from "../store.js";
import type { SqliteContext } from "./context.js";
import type { KvOp, SqliteKv } from "./kv.js";

/**
 * Retention on SQLite (docs/decisions/0015). Events are found oldest first through the index
 * `n/<event seq>` → `[id, record key, detected_at]` (written by enqueue; built once, in steps,
 * from `r/` for files older than it, flag `m/nidx`). Before a sweep removes events it collects,
 * in steps too, the event ids pending deliveries (`q/`) and dead letters (`d/`) refer to: those
 * events stay. A requeue while a sweep runs adds its id to `ctx.pinned`. Each finished sweep
 * stores its cutoff as the kind's horizon (`m/pruned/<kind>`). A step stops at its time budget,
 * checked after each entry it removes (an event is written away on its own, in the step's
 * transaction), so a step holds the event loop about that long however costly the rows are.
 */
export function sqliteRetention(ctx: SqliteContext): StateRetention {
  const { kv } = ctx;
  let eventsPhase: "index" | "pins-q" | "pins-d" | "prune" = kv.getRaw("m/nidx") ? "pins-q" : "index";
  let eventsAfter = "";
  let deadAfter = "";

  const finish = (kind: PrunableKind, before: number): void => {
    kv.write([{ key: `m/pruned/${kind}`, value: new Date(before).toISOString() }]);
  };

  /** Oldest entries first in each `<prefix><name>/` group: removes those stamped before `before`. */
  const pruneOldestFirst = (groups: string[], before: number, limit: number, time: Budget, stampOf: (value: string) => string | undefined): { removed: number; done: boolean } => {
    let budget = limit;
    const ops: KvOp[] = [];
    let spent = false;
    for (const group of groups) {
      const rows = kv.rangeAfter(group, "", budget);
      for (const [key, value] of rows) {
        budget -= 1;
        const at = stampOf(value);
        if (at !== undefined && Date.parse(at) >= before) break;
        ops.push({ key, delete: true });
        if ((spent = time.spent())) break;
      }
      if (budget <= 0 || spent) break;
    }
    if (ops.length > 0) kv.write(ops);
    return { removed: ops.length, done: budget > 0 && !spent };
  };

  const steps: Record<PrunableKind, (before: number, limit: number, time: Budget) => { removed: number; done: boolean }> = {
    events(before, limit, time) {
      if (eventsPhase === "index") {
        const rows = kv.rangeAfter("r/", eventsAfter, limit);
        const bodies = kv.getManyRaw(rows.map(([, id]) => `e/${id}`));
        const ops: KvOp[] = [];
        for (const [key, id] of rows) {
          const body = bodies.get(`e/${id}`);
          if (body === undefined) continue;
          const cut = key.lastIndexOf("/");
          const detectedAt = (JSON.parse(body) as { detected_at?: string }).detected_at ?? new Date(0).toISOString();
          ops.push({ key: `n/${key.slice(cut + 1)}`, value: JSON.stringify([id, key.slice(2, cut), detectedAt]) });
        }
        if (rows.length < limit) {
          ops.push({ key: "m/nidx", value: "1" });
          eventsPhase = "pins-q";
          eventsAfter = "";
        } else eventsAfter = rows[rows.length - 1]![0];
        if (ops.length > 0) kv.write(ops);
        return { removed: 0, done: false };
      }
      if (eventsPhase === "pins-q" || eventsPhase === "pins-d") {
        const pinned = (ctx.pinned ??= new Set());
        const prefix = eventsPhase === "pins-q" ? "q/" : "d/";
        const rows = kv.rangeAfter(prefix, eventsAfter, limit * 5);
        for (const [, value] of rows) pinned.add((JSON.parse(value) as { eventId: string }).eventId);
        if (rows.length < limit * 5) {
          eventsPhase = eventsPhase === "pins-q" ? "pins-d" : "prune";
          eventsAfter = "";
        } else eventsAfter = rows[rows.length - 1]![0];
        return { removed: 0, done: false };
      }
      const pinned = ctx.pinned ?? new Set<string>();
      const rows = kv.rangeAfter("n/", eventsAfter, limit);
      const fixedTargets = groupNames(kv, "o/");
      let removed = 0;
      let reached = false;
      let spent = false;
      for (const [key, value] of rows) {
        const [id, recordKey, at] = JSON.parse(value) as [string, string, string];
        if (Date.parse(at) >= before) {
          reached = true;
          break;
        }
        eventsAfter = key;
        if (pinned.has(id)) continue;
        const seq = key.slice(2);
        const ops: KvOp[] = [{ key, delete: true }, { key: `e/${id}`, delete: true }, { key: `r/${recordKey}/${seq}`, delete: true }];
        for (const target of fixedTargets) ops.push({ key: `o/${target}/${id}`, delete: true });
        kv.write(ops);
        removed += 1;
        if ((spent = time.spent())) break;
      }
      const lookedAtAll = !spent || eventsAfter === rows[rows.length - 1]![0];
      if (reached || (lookedAtAll && rows.length < limit)) {
        eventsPhase = "pins-q";
        eventsAfter = "";
        ctx.pinned = undefined;
        finish("events", before);
        return { removed, done: true };
      }
      return { removed, done: false };
    },

    delivery_log(before, limit, time) {
      const result = pruneOldestFirst(groupNames(kv, "l/").map((target) => `l/${target}/`), before, limit, time, stampAt);
      if (result.done) finish("delivery_log", before);
      return result;
    },

    pass_journal(before, limit, time) {
      const result = pruneOldestFirst(resourceGroups(kv), before, limit, time, stampAt);
      if (result.done) finish("pass_journal", before);
      return result;
    },

    dead_letters(before, limit, time) {
      const rows = kv.rangeAfter("d/", deadAfter, limit);
      const ops: KvOp[] = [];
      let looked = 0;
      for (const [key, value] of rows) {
        looked += 1;
        if (Date.parse(stampAt(value) ?? "") >= before) continue;
        ops.push({ key, delete: true });
        if (time.spent()) break;
      }
      if (ops.length > 0) kv.write(ops);
      if (looked === rows.length && rows.length < limit) {
        deadAfter = "";
        finish("dead_letters", before);
        return { removed: ops.length, done: true };
      }
      deadAfter = rows[looked - 1]![0];
      return { removed: ops.length, done: false };
    },
  };

  return {
    async pruneStep(kind, before, limit, budgetMs) {
      const time = stepBudget(budgetMs);
      return kv.transaction(() => steps[kind](before, Math.max(1, limit), time));
    },

    async reclaimSpace(pages) {
      if (Number(kv.db.pragma("auto_vacuum", { simple: true })) !== 2) return 0;
      const free = Number(kv.db.pragma("freelist_count", { simple: true }));
      if (free === 0) return 0;
      kv.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
      return free - Number(kv.db.pragma("freelist_count", { simple: true }));
    },

    async stateSizes() {
      const kinds = Object.fromEntries(STATE_KINDS.map((kind) => [kind, { count: 0, bytes: 0 }])) as StateSizes["kinds"];
      const chunk = kv.db.prepare<[string, number], { key: string; b: number }>("SELECT key, octet_length(key) + octet_length(value) AS b FROM kv WHERE key > ? ORDER BY key LIMIT ?");
      let after = "";
      for (;;) {
        const rows = chunk.all(after, 2000);
        for (const row of rows) {
          const size = kinds[kindOfKey(row.key)];
          size.count += 1;
          size.bytes += row.b;
        }
        if (rows.length < 2000) break;
        after = rows[rows.length - 1]!.key;
        await yieldToLoop();
      }
      const pageSize = Number(kv.db.pragma("page_size", { simple: true }));
      const incremental = Number(kv.db.pragma("auto_vacuum", { simple: true })) === 2;
      return {
        kinds,
        fileBytes: Number(kv.db.pragma("page_count", { simple: true })) * pageSize,
        freeBytes: Number(kv.db.pragma("freelist_count", { simple: true })) * pageSize,
        reclaim: incremental ? "incremental vacuum" : "free pages reused, not given back (auto_vacuum is off in files created before retention)",
      };
    },

    async pruneHorizons() {
      return Object.fromEntries(kv.range("m/pruned/").map(([key, value]) => [key.slice("m/pruned/".length), value]));
    },
  };
}

type Budget = ReturnType<typeof stepBudget>;

const stampAt = (value: string): string | undefined => (JSON.parse(value) as { at?: string }).at;

const KIND_OF_PREFIX: Record<string, StateKind> = { s: "snapshots", t: "snapshots", w: "snapshots", p: "snapshots", e: "events", r: "events", n: "events", o: "fixed_bodies", q: "pending", d: "dead_letters", l: "delivery_log", h: "pass_journal" };

function kindOfKey(key: string): StateKind {
  return key[1] === "/" ? (KIND_OF_PREFIX[key[0]!] ?? "other") : "other";
}

/** The distinct `<name>` of keys `<prefix><name>/…`: one indexed seek per name. */
function groupNames(kv: SqliteKv, prefix: string): string[] {
  const names: string[] = [];
  let after = prefix;
  for (;;) {
    const next = kv.rangeAfter(prefix, after, 1)[0];
    if (!next) return names;
    const name = next[0].slice(prefix.length, next[0].indexOf("/", prefix.length));
    names.push(name);
    after = `${prefix}${name}/\uffff`;
  }
}

/** `h/<source>/<resource>/` of every resource with a journal. */
function resourceGroups(kv: SqliteKv): string[] {
  const groups: string[] = [];
  let after = "h/";
  for (;;) {
    const next = kv.rangeAfter("h/", after, 1)[0];
    if (!next) return groups;
    const group = next[0].slice(0, next[0].lastIndexOf("/") + 1);
    groups.push(group);
    after = `${group}\uffff`;
  }
}
