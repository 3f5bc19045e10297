import { StateError } from "../../errors.js";
import { storedEventOf } from "../event-body.js";
import { routingRecords } from "../routing-records.js";
import { removedTargetReason, type DeadLetter, type Delivery, type DeliveryLogEntry, type EnqueueItem, type Outbox, type StoredEvent } from "../store.js";
import { textArray, numberArray } from "./binary-array.js";
import { lockEvents, settled, takeNumbers, type PgContext } from "./context.js";
import type { Query } from "./db.js";
import { crashPoint } from "../../testing/fault-injection.js";
import { ACK_STATEMENT, ackParameters, appendEntries } from "./delivery-log.js";

/** The outbox with what `close` must do: wait for acks still being committed. */
export interface PgOutbox extends Outbox {
  flush(): Promise<void>;
}

const DELIVERY_COLUMNS = "seq, target, event_id, record_key, attempts, next_attempt_at, last_error";

function toDelivery(row: Record<string, unknown>): Delivery {
  const delivery: Delivery = {
    seq: Number(row.seq),
    target: row.target as string,
    eventId: row.event_id as string,
    recordKey: row.record_key as string,
    attempts: row.attempts as number,
    nextAttemptAt: Number(row.next_attempt_at),
  };
  if (row.last_error !== null && row.last_error !== undefined) delivery.lastError = row.last_error as string;
  return delivery;
}

/** An event row as `getEvent` gives it: `fixed` when routing fixed a body for the target read with it. */
function storedEvent(body: string, fixed: unknown): StoredEvent {
  const event = storedEventOf(body);
  if (typeof fixed === "string") event.fixed = fixed;
  return event;
}

/** Inserts pending deliveries (one statement); the caller's transaction. */
async function insertDeliveries(q: Query, list: Delivery[]): Promise<void> {
  if (list.length === 0) return;
  await q(
    `INSERT INTO @.outbox (${DELIVERY_COLUMNS}) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::text[])`,
    [list.map((d) => d.seq), list.map((d) => d.target), list.map((d) => d.eventId), list.map((d) => d.recordKey), list.map((d) => d.attempts), list.map((d) => d.nextAttemptAt), list.map((d) => d.lastError ?? null)],
  );
}

/**
 * Writes events (skipping ids already present) with their record index, pending deliveries,
 * fixed bodies, and the routing's dead letters and log entries; the caller's transaction
 * (`enqueue`, `commitPage`). Returns the deliveries created.
 */
export async function enqueueRows(ctx: PgContext, q: Query, items: EnqueueItem[], now: number): Promise<Delivery[]> {
  const ids = [...new Set(items.map((i) => i.event.envelope.id))];
  const known = new Set((await q("SELECT id FROM @.events WHERE id = ANY($1::text[])", [ids])).map((r) => r.id as string));
  const fresh: typeof items = [];
  for (const item of items) {
    const id = item.event.envelope.id;
    if (known.has(id)) continue;
    known.add(id);
    fresh.push(item);
  }
  if (fresh.length === 0) return [];
  const records = routingRecords(fresh, now);
  const deadCount = records.filter((r) => r.dead).length;
  const deliveryCount = fresh.reduce((n, item) => n + item.targets.length, 0) + deadCount;
  let eventN = await takeNumbers(q, "eseq", fresh.length);
  let seq = deliveryCount > 0 ? await takeNumbers(q, "seq", deliveryCount) : 0;
  const created: Delivery[] = [];
  const ns: number[] = [];
  for (const item of fresh) {
    ns.push(eventN++);
    for (const target of item.targets) created.push({ seq: seq++, target, eventId: item.event.envelope.id, recordKey: item.recordKey, attempts: 0, nextAttemptAt: now });
  }
  await q("INSERT INTO @.events (id, record_key, n, body) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[])", [
    textArray(fresh.map((i) => i.event.envelope.id)),
    textArray(fresh.map((i) => i.recordKey)),
    numberArray("int8", ns),
    textArray(fresh.map((i) => i.event.body)),
  ]);
  await insertDeliveries(q, created);
  const fixed = fresh.flatMap((item) => Object.entries(item.fixed ?? {}).map(([target, body]) => ({ eventId: item.event.envelope.id, target, body })));
  if (fixed.length > 0) {
    await q("INSERT INTO @.fixed_bodies (event_id, target, body) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])", [fixed.map((f) => f.eventId), fixed.map((f) => f.target), fixed.map((f) => f.body)]);
  }
  // Targets whose filter said no or whose expression failed: log entries and dead letters.
  for (const { dead } of records) {
    if (!dead) continue;
    const deadSeq = seq++;
    await q("INSERT INTO @.dead_letters (seq, target, event_id, record_key, letter) VALUES ($1, $2, $3, $4, $5)", [deadSeq, dead.target, dead.eventId, dead.recordKey, JSON.stringify({ ...dead, seq: deadSeq })]);
  }
  if (records.length > 0) await appendEntries(ctx, q, records.map((r) => r.log));
  return created;
}

/** Events (with their record index), pending deliveries and dead letters; `counters` numbers them. */
export function pgOutbox(ctx: PgContext): PgOutbox {
  const { db } = ctx;
  type Ack = { delivery: Delivery; log: DeliveryLogEntry; resolve: () => void; reject: (error: unknown) => void };
  let acks: Ack[] = [];
  let committing: Promise<void> | undefined;

  /** Group commit: acks arriving while one commits share the next statement. */
  const commitAcks = async (): Promise<void> => {
    while (acks.length > 0) {
      const batch = acks;
      acks = [];
      try {
        crashPoint("store:ack-before-commit");
        await db.query(ACK_STATEMENT, ackParameters(ctx, batch.map((a) => a.delivery.seq), batch.map((a) => a.log)), "retrohook_ack");
        for (const ack of batch) ack.resolve();
      } catch (error) {
        for (const ack of batch) ack.reject(error);
      }
    }
    committing = undefined;
  };

  const hasEvent = async (eventId: string): Promise<boolean> => (await db.query("SELECT 1 FROM @.events WHERE id = $1", [eventId])).length > 0;

  return {
    async enqueue(items) {
      await settled(ctx);
      if (items.length === 0) return [];
      const now = ctx.clock.now();
      return db.tx((q) => enqueueRows(ctx, q, items, now), "store:enqueue-before-commit");
    },

    async getEvent(eventId, target) {
      const row = (
        target === undefined
          ? await db.query("SELECT body FROM @.events WHERE id = $1", [eventId])
          : await db.query("SELECT e.body, f.body AS fixed FROM @.events e LEFT JOIN @.fixed_bodies f ON f.event_id = e.id AND f.target = $2 WHERE e.id = $1", [eventId, target], "retrohook_event_for")
      )[0];
      return row ? storedEvent(row.body as string, row.fixed) : undefined;
    },

    async getEvents(eventIds, target) {
      const events = new Map<string, StoredEvent>();
      if (eventIds.length === 0) return events;
      const rows =
        target === undefined
          ? await db.query("SELECT id, body FROM @.events WHERE id = ANY($1::text[])", [eventIds])
          : await db.query("SELECT e.id, e.body, f.body AS fixed FROM @.events e LEFT JOIN @.fixed_bodies f ON f.event_id = e.id AND f.target = $2 WHERE e.id = ANY($1::text[])", [eventIds, target], "retrohook_events_for");
      for (const row of rows) events.set(row.id as string, storedEvent(row.body as string, row.fixed));
      return events;
    },

    async putFixedBody(eventId, target, body) {
      await db.query("INSERT INTO @.fixed_bodies (event_id, target, body) VALUES ($1, $2, $3) ON CONFLICT (event_id, target) DO UPDATE SET body = excluded.body", [eventId, target, body]);
    },

    async listEventIdsForRecord(recordKey, limit = 1000) {
      const rows = await db.query("SELECT id FROM @.events WHERE record_key = $1 ORDER BY n DESC LIMIT $2", [recordKey, limit]);
      return rows.map((r) => r.id as string).reverse();
    },

    hasEvent,

    async listPending(target) {
      const rows = target
        ? await db.query(`SELECT ${DELIVERY_COLUMNS} FROM @.outbox WHERE target = $1 ORDER BY seq`, [target])
        : await db.query(`SELECT ${DELIVERY_COLUMNS} FROM @.outbox ORDER BY target COLLATE "C", seq`);
      return rows.map(toDelivery);
    },

    async updateDelivery(delivery) {
      await db.query("UPDATE @.outbox SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE seq = $1", [delivery.seq, delivery.attempts, delivery.nextAttemptAt, delivery.lastError ?? null]);
    },

    async ackDelivery(delivery, log) {
      return new Promise((resolve, reject) => {
        acks.push({ delivery, log, resolve, reject });
        committing ??= new Promise<void>((started) => setImmediate(started)).then(commitAcks);
      });
    },

    async deadLetter(delivery, dead, log) {
      await db.tx(async (q) => {
        await q("DELETE FROM @.outbox WHERE seq = $1", [delivery.seq]);
        await q("INSERT INTO @.dead_letters (seq, target, event_id, record_key, letter) VALUES ($1, $2, $3, $4, $5)", [delivery.seq, delivery.target, delivery.eventId, delivery.recordKey, JSON.stringify({ ...dead, seq: delivery.seq })]);
        await appendEntries(ctx, q, [log]);
      }, "store:dead-letter-before-commit");
    },

    async listDeadLetters(target) {
      const rows = target ? await db.query("SELECT letter FROM @.dead_letters WHERE target = $1 ORDER BY seq", [target]) : await db.query('SELECT letter FROM @.dead_letters ORDER BY target COLLATE "C", seq');
      return rows.map((r) => r.letter as DeadLetter);
    },

    async requeueDeadLetters(target, eventId, to) {
      const now = ctx.clock.now();
      return db.tx(async (q) => {
        const rows = await q(
          `DELETE FROM @.dead_letters WHERE ($1::text IS NULL OR target = $1) AND ($2::text IS NULL OR event_id = $2) RETURNING seq, target, event_id, record_key`,
          [target ?? null, eventId ?? null],
        );
        if (rows.length === 0) return [];
        rows.sort((a, b) => ((a.target as string) < (b.target as string) ? -1 : (a.target as string) > (b.target as string) ? 1 : Number(a.seq) - Number(b.seq)));
        let seq = await takeNumbers(q, "seq", rows.length);
        const created: Delivery[] = rows.map((r) => ({ seq: seq++, target: to ?? (r.target as string), eventId: r.event_id as string, recordKey: r.record_key as string, attempts: 0, nextAttemptAt: now }));
        await insertDeliveries(q, created);
        return created;
      });
    },

    async requeueEvent(eventId, targets, recordKey) {
      const now = ctx.clock.now();
      // One transaction: the event checked and its deliveries inserted with no prune between.
      return db.tx(async (q) => {
        await lockEvents(q, db.target.schema, "shared");
        if ((await q("SELECT 1 FROM @.events WHERE id = $1", [eventId])).length === 0) throw new StateError(`no event ${eventId} in state`);
        if (targets.length === 0) return [];
        let seq = await takeNumbers(q, "seq", targets.length);
        const created: Delivery[] = targets.map((target) => ({ seq: seq++, target, eventId, recordKey, attempts: 0, nextAttemptAt: now }));
        await insertDeliveries(q, created);
        return created;
      });
    },

    async deadLetterPendingExcept(targets) {
      const at = new Date(ctx.clock.now()).toISOString();
      return db.tx(async (q) => {
        const rows = await q("DELETE FROM @.outbox WHERE NOT (target = ANY($1::text[])) RETURNING seq, target, event_id, record_key, attempts", [targets]);
        const moved: Record<string, number> = {};
        for (const r of rows) {
          const target = r.target as string;
          const letter: DeadLetter = { seq: Number(r.seq), target, eventId: r.event_id as string, recordKey: r.record_key as string, at, attempts: Number(r.attempts), reason: removedTargetReason(target) };
          await q("INSERT INTO @.dead_letters (seq, target, event_id, record_key, letter) VALUES ($1, $2, $3, $4, $5)", [letter.seq, target, letter.eventId, letter.recordKey, JSON.stringify(letter)]);
          moved[target] = (moved[target] ?? 0) + 1;
        }
        return moved;
      });
    },

    async pendingTargets() {
      const rows = await db.query("SELECT target, count(*) AS n FROM @.outbox GROUP BY target");
      return Object.fromEntries(rows.map((r) => [r.target as string, Number(r.n)]));
    },

    /** Counted by the database on the (target, seq) indexes: one round trip, nothing read into the process. */
    async queueGauges(target) {
      const row = (
        await db.query(
          "SELECT (SELECT count(*) FROM @.outbox WHERE target = $1) AS pending, (SELECT count(*) FROM @.dead_letters WHERE target = $1) AS dead, (SELECT event_id FROM @.outbox WHERE target = $1 ORDER BY seq LIMIT 1) AS oldest",
          [target],
        )
      )[0];
      return { pending: Number(row?.pending ?? 0), deadLetters: Number(row?.dead ?? 0), ...(typeof row?.oldest === "string" ? { oldestPendingEventId: row.oldest } : {}) };
    },

    async flush() {
      await committing;
    },
  };
}
