import type { Clock } from "../../clock.js";
import type { ResourceId } from "../store.js";
import type { PgBaselineWriter } from "./baseline-writer.js";
import type { Db, Query } from "./db.js";

/** What the PostgreSQL concern files share. Tables: migrations/0001-init.ts. */
export interface PgContext {
  db: Db;
  clock: Clock;
  /** Delivery log entries kept per target. */
  logLimit: number;
  /** Writes large silent baselines while the pass goes on (not for a read-only store). */
  baselines?: PgBaselineWriter | undefined;
}

/** Waits for baseline writes in flight (see PgBaselineWriter); throws the failure of one of `id`'s. */
export async function settled(ctx: PgContext, id?: ResourceId): Promise<void> {
  await ctx.baselines?.settled(id);
}

/** Adds `count` to a counter (seq, eseq, wseq) in the caller's transaction; returns the first value taken. */
export async function takeNumbers(q: Query, counter: string, count: number): Promise<number> {
  const rows = await q("UPDATE @.counters SET value = value + $2 WHERE name = $1 RETURNING value", [counter, count]);
  return Number(rows[0]!.value) - count + 1;
}

/**
 * Serialises "a delivery starts to refer to a stored event" (`requeueEvent`, shared) with the
 * retention step that removes events nobody refers to (exclusive): each statement after the
 * lock sees what the other committed, so a requeued event is never pruned under its delivery.
 */
export async function lockEvents(q: Query, schema: string, mode: "shared" | "exclusive"): Promise<void> {
  await q(`SELECT ${mode === "shared" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock"}(hashtext($1))`, [`retrohook:events:${schema}`]);
}
