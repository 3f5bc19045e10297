import { StateError } from "../../errors.js";
import type { Db, Query } from "./db.js";
import { MIGRATIONS } from "./migrations/index.js";

export interface MigrationStatus {
  /** Highest version applied; 0 for a database (schema) retrohook never used. */
  current: number;
  pending: Array<{ version: number; name: string }>;
}

const LATEST = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** What is applied and what would be, without changing anything. */
export async function migrationStatus(db: Db): Promise<MigrationStatus> {
  const current = await currentVersion((text, values) => db.query(text, values), db.target.schema);
  refuseNewer(db, current);
  return { current, pending: MIGRATIONS.filter((m) => m.version > current).map(({ version, name }) => ({ version, name })) };
}

/**
 * Applies the pending migrations, each in its own transaction, under an advisory lock on the
 * schema's name: processes starting together apply them once (the others wait, then find
 * nothing to do). A database newer than this code is refused.
 */
export async function migrate(db: Db): Promise<MigrationStatus> {
  const key = `retrohook:migrate:${db.target.schema}`;
  if (db.readOnly) {
    // Dry run: inside its one transaction, rolled back on close.
    return db.tx(async (q) => {
      await q("SELECT pg_advisory_xact_lock(hashtext($1))", [key]);
      return applyPending(db, q);
    });
  }
  const client = await db.pool.connect().catch((error: unknown) => {
    throw db.failure("cannot connect to the state database", error);
  });
  client.on("error", () => undefined);
  let broken = false;
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [key]);
    try {
      const status = await applyPending(db, async (text, values) => (await client.query(db.sql(text), values)).rows, async (sql) => {
        await client.query("BEGIN");
        try {
          await client.query(db.sql(sql.text), sql.values);
          await client.query(db.sql(sql.record), [sql.version, sql.name]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw error;
        }
      });
      return status;
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]).catch(() => {
        broken = true;
      });
    }
  } catch (error) {
    broken = true;
    throw db.failure("cannot migrate the state database", error);
  } finally {
    client.release(broken);
  }
}

interface Step {
  text: string;
  values?: unknown[];
  record: string;
  version: number;
  name: string;
}

async function applyPending(db: Db, q: Query, apply?: (step: Step) => Promise<void>): Promise<MigrationStatus> {
  const exists = await q("SELECT 1 FROM pg_namespace WHERE nspname = $1", [db.target.schema]);
  if (exists.length === 0) await q(`CREATE SCHEMA "${db.target.schema}"`);
  await q("CREATE TABLE IF NOT EXISTS @.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  const current = await currentVersion(q, db.target.schema);
  refuseNewer(db, current);
  const pending = MIGRATIONS.filter((m) => m.version > current);
  for (const migration of pending) {
    const step: Step = { text: migration.sql, record: "INSERT INTO @.schema_migrations (version, name) VALUES ($1, $2)", version: migration.version, name: migration.name };
    if (apply) await apply(step);
    else {
      await q(step.text);
      await q(step.record, [step.version, step.name]);
    }
  }
  return { current, pending: pending.map(({ version, name }) => ({ version, name })) };
}

async function currentVersion(q: Query, schema: string): Promise<number> {
  const table = await q("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'", [schema]);
  if (table.length === 0) return 0;
  const rows = await q("SELECT coalesce(max(version), 0) AS v FROM @.schema_migrations");
  return Number(rows[0]?.v ?? 0);
}

function refuseNewer(db: Db, current: number): void {
  if (current > LATEST) {
    throw new StateError(
      `the state database (${db.target.shown}) has schema version ${current}, newer than this retrohook knows (${LATEST}): it was written by a newer retrohook — upgrade this one (or point state.url at another schema)`,
    );
  }
}
