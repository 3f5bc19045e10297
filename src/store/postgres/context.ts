import type { Clock } from "../../clock.js";
import type { Db, Query } from "./db.js";

/** What the PostgreSQL concern files share. Tables: migrations/0001-init.ts. */
export interface PgContext {
  db: Db;
  clock: Clock;
  /** Delivery log entries kept per target. */
  logLimit: number;
}

/** Adds `count` to a counter (seq, eseq, wseq) in the caller's transaction; returns the first value taken. */
export async function takeNumbers(q: Query, counter: string, count: number): Promise<number> {
  const rows = await q("UPDATE @.counters SET value = value + $2 WHERE name = $1 RETURNING value", [counter, count]);
  return Number(rows[0]!.value) - count + 1;
}
