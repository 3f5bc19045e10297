import { randomBytes } from "node:crypto";
import { existsSync, realpathSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { systemClock } from "../../clock.js";
import { StateError } from "../../errors.js";
import { assembleStore, type StoreParts } from "../assemble.js";
import type { OpenOptions } from "../open.js";
import type { StateStore } from "../store.js";
import { BaselineWriter } from "./baseline-writer.js";
import { newKeyv, type SqliteContext } from "./context.js";
import { sqliteDeliveryLog } from "./delivery-log.js";
import { createPrivateFile, SqliteKv } from "./kv.js";
import { installQueueCounts, sqliteOutbox } from "./outbox.js";
import { sqlitePageCommit } from "./page-commit.js";
import { sqlitePassJournal } from "./pass-journal.js";
import { sqliteRetention } from "./retention.js";
import { sqliteSmallState } from "./small-state.js";
import { sqliteSnapshots } from "./snapshots.js";

/**
 * The StateStore over keyv + SQLite, one file: small JSON records (resource and source state,
 * budgets) go through a `Keyv` with `throwOnErrors`; bulk data (snapshots, outbox, dead letters,
 * the delivery log) uses the adapter's batch and range operations. Key layout: context.ts.
 */

/** `sqlite:///abs/file`, `sqlite://rel/file` (relative to the cwd), `sqlite::memory:`. */
export function sqlitePathFromUrl(url: string): string {
  if (url === "sqlite::memory:" || url === "sqlite://:memory:") return ":memory:";
  const match = /^sqlite:\/\/(.+)$/.exec(url);
  if (!match?.[1]) throw new StateError(`state.url must look like sqlite:///path/to/file.sqlite, got ${url}`);
  return match[1];
}

export async function openSqliteStore(url: string, options: OpenOptions = {}): Promise<StateStore> {
  const file = sqlitePathFromUrl(url);
  if (file !== ":memory:" && existsSync(file) && statSync(file).isDirectory()) {
    throw new StateError(`state file ${file} is a folder, not a file: point state.url at a file inside it (e.g. sqlite://${file.replace(/\/+$/, "")}/retrohook.sqlite)`);
  }
  if (options.readOnly) {
    if (file === ":memory:" || !existsSync(file)) return composeStore(new SqliteKv(":memory:"), options, undefined, true);
    const source = new SqliteKv(file, { readOnly: true });
    let copy: Buffer;
    try {
      copy = source.db.serialize();
    } finally {
      source.close();
    }
    // A WAL database image must be marked rollback-journal (header bytes 18-19) to open in memory.
    copy[18] = 1;
    copy[19] = 1;
    const kv = new SqliteKv(":memory:", { db: new Database(copy) });
    return composeStore(kv, options, undefined, true);
  }
  const lock = file === ":memory:" ? undefined : acquireLock(file);
  try {
    return composeStore(new SqliteKv(file), options, lock, false);
  } catch (error) {
    lock?.close();
    throw error;
  }
}

/** `<real path of the state file>.lock` (the path as given while the file does not exist). */
export function lockPathFor(file: string): string {
  return `${existsSync(file) ? realpathSync(file) : file}.lock`;
}

/**
 * Whether another process holds the file's lock, probed without taking it: a read on the lock
 * file fails with SQLITE_BUSY while the owner's exclusive transaction is open.
 */
export function sqliteStateHeld(url: string): boolean {
  const file = sqlitePathFromUrl(url);
  if (file === ":memory:") return false;
  const lockFile = lockPathFor(file);
  if (!existsSync(lockFile)) return false;
  let db: Database.Database | undefined;
  try {
    db = new Database(lockFile, { readonly: true, fileMustExist: true, timeout: 0 });
    db.prepare("SELECT count(*) FROM owner").get();
    return false;
  } catch (error) {
    return (error as { code?: string }).code === "SQLITE_BUSY";
  } finally {
    db?.close();
  }
}

/**
 * One process owns a state file: an exclusive SQLite lock on `<real path>.lock`, released by the
 * OS on death. The lock is named after the file's resolved path, so a second path to the same
 * file (a symlinked file or folder) meets the same lock.
 */
function acquireLock(file: string): Database.Database {
  let lockFile = `${file}.lock`;
  let db: Database.Database | undefined;
  try {
    new SqliteKv(file).close(); // creates the folder and the file, like the real open below
    lockFile = lockPathFor(file);
    createPrivateFile(lockFile);
    db = new Database(lockFile);
    db.pragma("busy_timeout = 0");
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS owner (pid INTEGER)");
    db.exec("BEGIN EXCLUSIVE");
    db.prepare("DELETE FROM owner").run();
    db.prepare("INSERT INTO owner (pid) VALUES (?)").run(process.pid);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof StateError) throw error;
    const code = (error as { code?: string }).code;
    if (code === "SQLITE_BUSY") {
      throw new StateError(`state file ${file} is in use by another retrohook process (lock ${lockFile}); stop it or use its admin API`);
    }
    throw new StateError(`cannot lock state file ${file}: ${(error as Error).message}`);
  }
}

const SQLITE_PARTS: StoreParts<SqliteContext, void> = { smallState: sqliteSmallState, snapshots: sqliteSnapshots, pageCommit: sqlitePageCommit, outbox: sqliteOutbox, deliveryLog: sqliteDeliveryLog, passJournal: sqlitePassJournal, retention: sqliteRetention };

function composeStore(kv: SqliteKv, options: OpenOptions, lock: Database.Database | undefined, readOnly: boolean): StateStore {
  const existing = kv.getRaw("m/epoch");
  const epoch = existing ?? randomBytes(8).toString("hex");
  // A new file indexes its events for retention from the first one (retention.ts builds the index of older files).
  if (!existing) kv.write([{ key: "m/epoch", value: epoch }, { key: "m/nidx", value: "1" }]);
  const ctx: SqliteContext = {
    kv,
    keyv: newKeyv(kv),
    clock: options.clock ?? systemClock(),
    logLimit: options.logLimit ?? 1000,
    writeSeq: Number(kv.getRaw("m/wseq") ?? 0),
    queueCounts: installQueueCounts(kv),
    baselines: kv.file === ":memory:" || readOnly ? undefined : new BaselineWriter(kv.file),
  };
  return assembleStore(ctx, SQLITE_PARTS, {
    epoch,
    readOnly,
    async close(flushOutbox) {
      await ctx.baselines?.close();
      flushOutbox();
      kv.close();
      if (lock?.open) lock.close();
    },
  });
}
