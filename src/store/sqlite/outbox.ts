import { StateError } from "../../errors.js";
import { crashPoint } from "../../testing/fault-injection.js";
import { storedEventOf } from "../event-body.js";
import { routingRecords } from "../routing-records.js";
import { removedTargetReason, type DeadLetter, type Delivery, type DeliveryLogEntry, type EnqueueItem, type Outbox, type StoredEvent } from "../store.js";
import { pad, SEQ_WIDTH, settled, type SqliteContext } from "./context.js";
import { logOps } from "./delivery-log.js";
import type { KvOp, SqliteKv } from "./kv.js";

/**
 * Kept counts of pending deliveries (`q/<target>/`) and dead letters (`d/<target>/`) in
 * `kv_counts`, maintained by triggers inside every transaction that adds or removes one, so
 * `/metrics` reads two rows instead of counting the queue. Installed (and filled from the rows
 * already there) once per file, in one transaction; false when the file cannot take it (read-only).
 */
export function installQueueCounts(kv: SqliteKv): boolean {
  const db = kv.db;
  const exists = (name: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(name) !== undefined;
  if (exists("kv_counts_delete")) return true;
  if (db.readonly) return false;
  const counted = (key: string): string => `((${key} >= 'q/' AND ${key} < 'q0') OR (${key} >= 'd/' AND ${key} < 'd0'))`;
  const prefix = (key: string): string => `substr(${key}, 1, length(${key}) - ${SEQ_WIDTH})`;
  db.transaction(() => {
    db.exec("DROP TABLE IF EXISTS kv_counts");
    db.exec("CREATE TABLE kv_counts (prefix TEXT PRIMARY KEY, n INTEGER NOT NULL)");
    db.exec(`INSERT INTO kv_counts (prefix, n) SELECT ${prefix("key")}, count(*) FROM kv WHERE ${counted("key")} GROUP BY 1`);
    db.exec(`CREATE TRIGGER kv_counts_insert AFTER INSERT ON kv WHEN ${counted("new.key")} BEGIN
      INSERT INTO kv_counts (prefix, n) VALUES (${prefix("new.key")}, 1) ON CONFLICT(prefix) DO UPDATE SET n = n + 1; END`);
    db.exec(`CREATE TRIGGER kv_counts_delete AFTER DELETE ON kv WHEN ${counted("old.key")} BEGIN
      UPDATE kv_counts SET n = n - 1 WHERE prefix = ${prefix("old.key")}; END`);
  })();
  return true;
}

/**
 * Writes events (skipping ids already present), their record index, pending deliveries, fixed
 * bodies, and the routing's dead letters and log entries; the caller's transaction
 * (`enqueue`, `commitPage`). Returns the deliveries created.
 */
export function enqueueRows(ctx: SqliteContext, items: EnqueueItem[], now: number): Delivery[] {
  const { kv } = ctx;
  let seq = Number(kv.getRaw("m/seq") ?? 0);
  let eventSeq = Number(kv.getRaw("m/eseq") ?? 0);
  const created: Delivery[] = [];
  const ops: KvOp[] = [];
  const seen = new Set<string>();
  const routed: EnqueueItem[] = [];
  for (const item of items) {
    const id = item.event.envelope.id;
    if (seen.has(id) || kv.getRaw(`e/${id}`) !== undefined) continue;
    seen.add(id);
    eventSeq += 1;
    ops.push(
      { key: `e/${id}`, value: item.event.body },
      { key: `r/${item.recordKey}/${pad(eventSeq)}`, value: id },
      { key: `n/${pad(eventSeq)}`, value: JSON.stringify([id, item.recordKey, item.event.envelope.detected_at]) },
    );
    for (const target of item.targets) {
      seq += 1;
      const delivery: Delivery = { seq, target, eventId: id, recordKey: item.recordKey, attempts: 0, nextAttemptAt: now };
      ops.push({ key: `q/${target}/${pad(seq)}`, value: JSON.stringify(delivery) });
      created.push(delivery);
    }
    for (const [target, body] of Object.entries(item.fixed ?? {})) ops.push({ key: `o/${target}/${id}`, value: body });
    routed.push(item);
  }
  // Targets whose filter said no or whose expression failed: log entries and dead letters.
  const records = routingRecords(routed, now);
  for (const { dead } of records) {
    if (!dead) continue;
    seq += 1;
    ops.push({ key: `d/${dead.target}/${pad(seq)}`, value: JSON.stringify({ ...dead, seq }) });
  }
  ops.push({ key: "m/seq", value: String(seq) }, { key: "m/eseq", value: String(eventSeq) });
  kv.apply(ops);
  if (records.length > 0) kv.apply(logOps(ctx, records.map((r) => r.log)));
  crashPoint("store:enqueue-before-commit");
  return created;
}

/**
 * Least time between two commits of batched acks while acks keep coming (ms), unless
 * `ACK_BATCH` acks are waiting: a commit costs about as much as 15 acks' rows (10,000 acks
 * in batches of 15: 97 µs CPU each; of 30: 75 µs; of 60: 69 µs).
 */
const ACK_SPACING_MS = 10;
const ACK_BATCH = 32;

/** The outbox with what `close` must do: commit acks still batched. */
export interface SqliteOutbox extends Outbox {
  flush(): void;
}

/**
 * Events (`e/`), the record index (`r/`), pending deliveries (`q/`), dead letters (`d/`) and the
 * bodies targets' filters and transforms fixed (`o/<target>/<event id>`, "" = the target's
 * format); `m/seq` numbers deliveries.
 */
export function sqliteOutbox(ctx: SqliteContext): SqliteOutbox {
  const { kv } = ctx;
  let acks: Array<{ delivery: Delivery; log: DeliveryLogEntry; resolve: () => void; reject: (error: unknown) => void }> = [];
  let ackTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  let lastCommit = Number.NEGATIVE_INFINITY;

  /** All acks batched so far, in one transaction with their log entries. */
  const commitAcks = (): void => {
    clearTimeout(ackTimer as NodeJS.Timeout);
    clearImmediate(ackTimer as NodeJS.Immediate);
    ackTimer = undefined;
    const batch = acks;
    acks = [];
    if (batch.length === 0) return;
    try {
      kv.transaction(() => {
        kv.apply(batch.map(({ delivery }) => ({ key: `q/${delivery.target}/${pad(delivery.seq)}`, delete: true as const })));
        kv.apply(logOps(ctx, batch.map((a) => a.log)));
        crashPoint("store:ack-before-commit");
      });
    } catch (error) {
      for (const ack of batch) ack.reject(error);
      return;
    } finally {
      lastCommit = performance.now();
    }
    for (const ack of batch) ack.resolve();
  };

  /** Distinct targets with pending deliveries: one indexed seek per target, not a scan of the queue. */
  const pendingTargetNames = (): string[] => {
    const names: string[] = [];
    let after = "q/";
    for (;;) {
      const next = kv.rangeAfter("q/", after, 1)[0];
      if (!next) return names;
      const target = next[0].slice(2, next[0].lastIndexOf("/"));
      names.push(target);
      after = `q/${target}/\uffff`;
    }
  };

  const keptCount = ctx.queueCounts ? kv.db.prepare<[string], number>("SELECT n FROM kv_counts WHERE prefix = ?").pluck() : undefined;

  const hasEvent = async (eventId: string): Promise<boolean> => kv.getRaw(`e/${eventId}`) !== undefined;

  return {
    async enqueue(items) {
      await settled(ctx);
      const now = ctx.clock.now();
      return kv.transaction(() => enqueueRows(ctx, items, now));
    },

    async getEvent(eventId, target) {
      const body = kv.getRaw(`e/${eventId}`);
      if (body === undefined) return undefined;
      const event = storedEventOf(body);
      const fixed = target === undefined ? undefined : kv.getRaw(`o/${target}/${eventId}`);
      if (fixed !== undefined) event.fixed = fixed;
      return event;
    },

    async getEvents(eventIds, target) {
      // Indexed IN reads: the bodies, and what routing fixed for the target.
      const found = kv.getManyRaw([...eventIds.map((id) => `e/${id}`), ...(target === undefined ? [] : eventIds.map((id) => `o/${target}/${id}`))]);
      const events = new Map<string, StoredEvent>();
      for (const id of eventIds) {
        const body = found.get(`e/${id}`);
        if (body === undefined) continue;
        const event = storedEventOf(body);
        const fixed = target === undefined ? undefined : found.get(`o/${target}/${id}`);
        if (fixed !== undefined) event.fixed = fixed;
        events.set(id, event);
      }
      return events;
    },

    async putFixedBody(eventId, target, body) {
      kv.write([{ key: `o/${target}/${eventId}`, value: body }]);
    },

    async listEventIdsForRecord(recordKey, limit = 1000) {
      return kv.range(`r/${recordKey}/`).slice(-limit).map(([, id]) => id);
    },

    hasEvent,

    async listPending(target) {
      return kv.range(target ? `q/${target}/` : "q/").map(([, value]) => JSON.parse(value) as Delivery);
    },

    async updateDelivery(delivery) {
      kv.write([{ key: `q/${delivery.target}/${pad(delivery.seq)}`, value: JSON.stringify(delivery) }]);
    },

    /**
     * Acks share transactions: the first after a quiet spell is committed at the end of its
     * event-loop turn; while acks keep coming, at most one commit per `ACK_SPACING_MS` takes
     * all that arrived meanwhile (one WAL commit for many deliveries), or sooner once `ACK_BATCH`
     * are waiting. Each promise resolves once its ack is committed, and rejects — nothing of its
     * batch stored — when the commit fails.
     */
    async ackDelivery(delivery, log) {
      return new Promise((resolve, reject) => {
        acks.push({ delivery, log, resolve, reject });
        if (acks.length === ACK_BATCH && ackTimer !== undefined) {
          // A full batch is not held back by the spacing (the dispatcher bounds the acks being recorded).
          clearTimeout(ackTimer as NodeJS.Timeout);
          clearImmediate(ackTimer as NodeJS.Immediate);
          ackTimer = setImmediate(commitAcks);
          return;
        }
        if (ackTimer !== undefined) return;
        const wait = lastCommit + ACK_SPACING_MS - performance.now();
        ackTimer = wait > 0 ? setTimeout(commitAcks, wait) : setImmediate(commitAcks);
      });
    },

    async deadLetter(delivery, dead, log) {
      kv.transaction(() => {
        kv.apply([
          { key: `q/${delivery.target}/${pad(delivery.seq)}`, delete: true },
          { key: `d/${delivery.target}/${pad(delivery.seq)}`, value: JSON.stringify({ ...dead, seq: delivery.seq }) },
          ...logOps(ctx, [log]),
        ]);
        crashPoint("store:dead-letter-before-commit");
      });
    },

    async listDeadLetters(target) {
      return kv.range(target ? `d/${target}/` : "d/").map(([, value]) => JSON.parse(value) as DeadLetter);
    },

    async requeueDeadLetters(target, eventId, to) {
      const now = ctx.clock.now();
      return kv.transaction(() => {
        let seq = Number(kv.getRaw("m/seq") ?? 0);
        const created: Delivery[] = [];
        const ops: KvOp[] = [];
        for (const [key, value] of kv.range(target ? `d/${target}/` : "d/")) {
          const dead = JSON.parse(value) as DeadLetter;
          if (eventId && dead.eventId !== eventId) continue;
          seq += 1;
          const delivery: Delivery = { seq, target: to ?? dead.target, eventId: dead.eventId, recordKey: dead.recordKey, attempts: 0, nextAttemptAt: now };
          ctx.pinned?.add(dead.eventId);
          ops.push({ key, delete: true }, { key: `q/${delivery.target}/${pad(seq)}`, value: JSON.stringify(delivery) });
          created.push(delivery);
        }
        ops.push({ key: "m/seq", value: String(seq) });
        kv.write(ops);
        return created;
      });
    },

    async requeueEvent(eventId, targets, recordKey) {
      if (!(await hasEvent(eventId))) throw new StateError(`no event ${eventId} in state`);
      const now = ctx.clock.now();
      ctx.pinned?.add(eventId);
      return kv.transaction(() => {
        let seq = Number(kv.getRaw("m/seq") ?? 0);
        const created: Delivery[] = targets.map((target) => {
          seq += 1;
          return { seq, target, eventId, recordKey, attempts: 0, nextAttemptAt: now };
        });
        kv.write([...created.map((d) => ({ key: `q/${d.target}/${pad(d.seq)}`, value: JSON.stringify(d) })), { key: "m/seq", value: String(seq) }]);
        return created;
      });
    },

    async deadLetterPendingExcept(targets) {
      const keep = new Set(targets);
      const at = new Date(ctx.clock.now()).toISOString();
      return kv.transaction(() => {
        const moved: Record<string, number> = {};
        const ops: KvOp[] = [];
        for (const target of pendingTargetNames()) {
          if (keep.has(target)) continue;
          for (const [key, value] of kv.range(`q/${target}/`)) {
            const delivery = JSON.parse(value) as Delivery;
            const dead: DeadLetter = { seq: delivery.seq, target, eventId: delivery.eventId, recordKey: delivery.recordKey, at, attempts: delivery.attempts, reason: removedTargetReason(target) };
            ops.push({ key, delete: true }, { key: `d/${target}/${pad(delivery.seq)}`, value: JSON.stringify(dead) });
            moved[target] = (moved[target] ?? 0) + 1;
          }
        }
        if (ops.length > 0) kv.write(ops);
        return moved;
      });
    },

    async pendingTargets() {
      return Object.fromEntries(pendingTargetNames().map((target) => [target, kv.count(`q/${target}/`)]));
    },

    async queueGauges(target) {
      const counted = (prefix: string): number => (keptCount ? Number(keptCount.get(prefix) ?? 0) : kv.count(prefix));
      const oldest = kv.rangeAfter(`q/${target}/`, `q/${target}/`, 1)[0];
      const pending = counted(`q/${target}/`);
      return { pending, deadLetters: counted(`d/${target}/`), ...(oldest ? { oldestPendingEventId: (JSON.parse(oldest[1]) as Delivery).eventId } : {}) };
    },

    flush() {
      if (acks.length > 0 && kv.db.open) commitAcks();
    },
  };
}
