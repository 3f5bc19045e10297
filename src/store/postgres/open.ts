import { randomBytes } from "node:crypto";
import { systemClock } from "../../clock.js";
import { assembleStore, type StoreParts } from "../assemble.js";
import type { OpenOptions } from "../open.js";
import type { StateStore } from "../store.js";
import { PgBaselineWriter } from "./baseline-writer.js";
import type { PgContext } from "./context.js";
import { Db } from "./db.js";
import { endIdleTransactions, pgCluster } from "./cluster.js";
import { pgDeliveryLog } from "./delivery-log.js";
import { migrate, migrationStatus, type MigrationStatus } from "./migrate.js";
import { pgOutbox } from "./outbox.js";
import { ownerLockHeld, takeOwnerLock, type OwnerLock } from "./owner.js";
import { pgPageCommit } from "./page-commit.js";
import { pgPassJournal } from "./pass-journal.js";
import { pgRetention } from "./retention.js";
import { pgSmallState } from "./small-state.js";
import { baselineInsert, pgSnapshots } from "./snapshots.js";
import { parsePostgresUrl } from "./url.js";

/** Connections a store opens for its work (plus the one that holds the schema's lock). */
const POOL_SIZE = 10;

const PG_PARTS: StoreParts<PgContext, Promise<void>> = { smallState: pgSmallState, snapshots: pgSnapshots, pageCommit: pgPageCommit, outbox: pgOutbox, deliveryLog: pgDeliveryLog, passJournal: pgPassJournal, retention: pgRetention };

/**
 * The StateStore on PostgreSQL (`postgres://…`): a `pg` pool, the schema brought up to date
 * at open (migrate.ts), one transaction per write call. A read-only store (dry run) works in
 * one transaction rolled back on close, the migrations included: it leaves the database as it
 * found it.
 */
export async function openPostgresStore(url: string, options: OpenOptions = {}): Promise<StateStore> {
  // A replica's lease rounds (heartbeat, renewal, grants) run on a connection of their own, one
  // of the pool's 10: on the shared pool they would queue behind every statement of the passes a
  // tick started (thousands), and a renewal late by more than the lease's margin loses the leases
  // (docs/decisions/0019).
  const clustered = options.replica === true && options.readOnly !== true;
  const db = new Db(parsePostgresUrl(url), options.readOnly === true, clustered ? POOL_SIZE - 1 : POOL_SIZE);
  const control = clustered ? new Db(parsePostgresUrl(url), false, 1) : undefined;
  for (const each of control ? [db, control] : []) endIdleTransactions(each.pool, options.leaseMs ?? 30_000, options.replicaId);
  let owner: OwnerLock | undefined;
  try {
    await db.begin();
    await migrate(db);
    owner = db.readOnly ? undefined : await takeOwnerLock(db, options.replica === true);
    const epoch = await db.tx(async (q) => {
      await q("INSERT INTO @.meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING", [randomBytes(8).toString("hex")]);
      return (await q("SELECT value FROM @.meta WHERE key = 'epoch'"))[0]!.value as string;
    });
    const baselines = db.readOnly ? undefined : new PgBaselineWriter(baselineInsert(db));
    const ctx: PgContext = { db, clock: options.clock ?? systemClock(), logLimit: options.logLimit ?? 1000, baselines };
    return assembleStore(ctx, PG_PARTS, {
      epoch,
      readOnly: db.readOnly,
      ...(options.replica ? { cluster: pgCluster(control ?? db) } : {}),
      async close(flushOutbox) {
        await flushOutbox();
        await baselines?.close();
        await db.close();
        await control?.close();
        await owner?.release();
      },
    });
  } catch (error) {
    await db.close().catch(() => undefined);
    await control?.close().catch(() => undefined);
    await owner?.release();
    throw error;
  }
}

/** Whether the database answers, and which migrations a start would apply (none are). */
export async function checkPostgres(url: string): Promise<MigrationStatus> {
  const db = new Db(parsePostgresUrl(url), false, 1);
  try {
    return await migrationStatus(db);
  } finally {
    await db.close().catch(() => undefined);
  }
}

/** Whether a running retrohook holds this state (its schema's lock). */
export function postgresStateHeld(url: string): Promise<boolean> {
  return ownerLockHeld(parsePostgresUrl(url));
}
