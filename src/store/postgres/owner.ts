import pg from "pg";
import { StateError } from "../../errors.js";
import type { Db } from "./db.js";
import type { PostgresTarget } from "./url.js";

/**
 * One process owns a schema at a time, as one owns a SQLite file: a session advisory lock held
 * on a connection of its own for the store's life. If that connection drops (a database
 * restart), the lock is taken again as soon as the database answers. The CLI probes it to know
 * whether a daemon runs (then it asks the daemon's admin API).
 */
const ownerKey = (target: PostgresTarget): string => `retrohook:owner:${target.schema}`;

export interface OwnerLock {
  release(): Promise<void>;
}

/**
 * `shared`: replicas (docs/decisions/0013) each hold the lock in shared mode — any number of
 * them together, never with a single-process daemon, and the CLI still sees the state held.
 */
export async function takeOwnerLock(db: Db, shared = false): Promise<OwnerLock> {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<boolean> => {
    const next = new pg.Client({ ...db.target.pool, connectionTimeoutMillis: 10_000, keepAlive: true });
    next.on("error", () => undefined);
    await next.connect();
    const lock = shared ? "pg_try_advisory_lock_shared" : "pg_try_advisory_lock";
    const rows = (await next.query(`SELECT ${lock}(hashtext($1)) AS got`, [ownerKey(db.target)])).rows as Array<{ got: boolean }>;
    if (!rows[0]?.got) {
      await next.end().catch(() => undefined);
      return false;
    }
    client = next;
    // Lost with its connection: take it again when the database is back.
    next.on("end", () => {
      if (closed || client !== next) return;
      client = undefined;
      schedule();
    });
    return true;
  };
  const schedule = (): void => {
    retry = setTimeout(() => {
      connect().then(
        (got) => {
          if (!got && !closed) schedule();
        },
        () => {
          if (!closed) schedule();
        },
      );
    }, 2_000);
    retry.unref();
  };

  let got: boolean;
  try {
    got = await connect();
  } catch (error) {
    throw db.failure("cannot connect to the state database", error);
  }
  if (!got) {
    throw new StateError(
      shared
        ? `state ${db.target.shown} is in use by a retrohook process without \`cluster\` (it holds the schema's lock alone); stop it, or give it the same \`cluster\` settings`
        : `state ${db.target.shown} is in use by another retrohook process (it holds the schema's lock); stop it or use its admin API — or, to run several, configure \`cluster\` on each`,
    );
  }
  return {
    async release() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}

/** Whether another process holds the schema's lock (false when the database does not answer). */
export async function ownerLockHeld(target: PostgresTarget): Promise<boolean> {
  const client = new pg.Client({ ...target.pool, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const key = ownerKey(target);
    const rows = (await client.query("SELECT pg_try_advisory_lock(hashtext($1)) AS got", [key])).rows as Array<{ got: boolean }>;
    if (rows[0]?.got) await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]);
    return !rows[0]?.got;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
