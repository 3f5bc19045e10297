import pg from "pg";

/**
 * The cluster suite's witness in the database itself (test-only triggers, installed in the test
 * schema after the replicas created it): every transaction that writes a source's state, its
 * snapshots, its outbox or its budget is noted with its top-level transaction id, and so is every
 * fenced write (`fenced_writes`, which a pass upserts inside each of its write transactions).
 * With `track_commit_timestamp` on, the commit time of each noted transaction and of each lease
 * grant (`lease_grants`, append-only) tells:
 * - stale writes accepted: fenced write transactions of token t on source s that committed after
 *   a grant of a newer token of s committed (a paused owner writing after a takeover);
 * - unfenced writes: transactions that changed a source's rows with no fenced write of that source.
 *   Only a pass's writes count (the acceptance's "writes accepted from a stale lease"): the
 *   delivery side's acks, retry updates and dead letters are not fenced by design (decision 0013:
 *   an ack records a 2xx really received, one group commit acks deliveries of many sources, and
 *   refusing it would only send the delivery again), nor is the retention sweep; those are
 *   counted apart, as `deliveryWrites`.
 */

/** Operations of the delivery side (ack, retry, dead letter) and of the retention sweep: not a pass's. */
const NOT_PASS_WRITES = ["outbox DELETE", "outbox UPDATE", "dead_letters INSERT", "dead_letters DELETE", "events DELETE"];

/** Tables a pass or a delivery of a source writes, and how a row names its source. */
const AUDITED: Array<{ table: string; source: string }> = [
  { table: "resource_state", source: "source" },
  { table: "source_state", source: "source" },
  { table: "snapshots", source: "source" },
  { table: "page_marks", source: "source" },
  { table: "budgets", source: "source" },
  { table: "pass_journal", source: "source" },
  { table: "outbox", source: "split_part(record_key, '/', 1)" },
  { table: "events", source: "split_part(record_key, '/', 1)" },
  { table: "dead_letters", source: "split_part(record_key, '/', 1)" },
];

export interface AuditFigures {
  /** Fenced write transactions audited (one per pass write transaction and delivery outcome). */
  fencedTransactions: number;
  /** Write transactions on audited tables (by source). */
  writeTransactions: number;
  /** The suite's figure: fenced writes committed after a newer lease of their source was granted. */
  staleAccepted: number;
  /** The same from the feature's own stamps (fenced_writes.last_at against lease_grants.granted_at). */
  staleByStamps: number;
  /** Pass write transactions that changed a source's rows without a fenced write of that source. */
  unfenced: number;
  /** Unfenced write transactions of the delivery side and the retention sweep (by design, see above). */
  deliveryWrites: number;
  /** By table and operation ("outbox DELETE"). */
  unfencedByTable: Record<string, number>;
  grants: number;
  grantsByReason: Record<string, number>;
  /** Attempts the fence refused (the feature's best-effort log): proof the path ran. */
  rejections: number;
  examples: string[];
}

function schemaOf(url: string): string {
  return new URL(url).searchParams.get("schema") ?? "public";
}

async function withClient<T>(url: string, run: (client: pg.Client, schema: string) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url.replace(/[?&]schema=[^&]*/, ""), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await run(client, `"${schemaOf(url)}"`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates the audit tables and triggers (idempotent). Call once the replicas' migrations ran. */
export async function installAudit(url: string): Promise<void> {
  await withClient(url, async (client, s) => {
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${s}.chaos_audit_writes (txid bigint NOT NULL, tbl text NOT NULL, source text NOT NULL);
      CREATE TABLE IF NOT EXISTS ${s}.chaos_audit_fenced (txid bigint NOT NULL, source text NOT NULL, token bigint NOT NULL);
      CREATE OR REPLACE FUNCTION ${s}.chaos_audit_fenced_fn() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ${s}.chaos_audit_fenced (txid, source, token) VALUES (txid_current(), NEW.source, NEW.token);
        RETURN NULL;
      END $$;
      DROP TRIGGER IF EXISTS chaos_audit ON ${s}.fenced_writes;
      CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE ON ${s}.fenced_writes FOR EACH ROW EXECUTE FUNCTION ${s}.chaos_audit_fenced_fn();
    `);
    for (const { table, source } of AUDITED) {
      const fromRow = (row: string) => source.replace(/(^|\()(source|record_key)/, `$1${row}.$2`);
      await client.query(`
        CREATE OR REPLACE FUNCTION ${s}.chaos_audit_${table}_fn() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            INSERT INTO ${s}.chaos_audit_writes (txid, tbl, source) VALUES (txid_current(), '${table} ' || TG_OP, ${fromRow("OLD")});
          ELSE
            INSERT INTO ${s}.chaos_audit_writes (txid, tbl, source) VALUES (txid_current(), '${table} ' || TG_OP, ${fromRow("NEW")});
          END IF;
          RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS chaos_audit ON ${s}.${table};
        CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE OR DELETE ON ${s}.${table} FOR EACH ROW EXECUTE FUNCTION ${s}.chaos_audit_${table}_fn();
      `);
    }
  });
}

/** Reads the figures (after the replicas stopped). */
export async function auditFigures(url: string): Promise<AuditFigures> {
  return withClient(url, async (client, s) => {
    const commit = (txid: string) => `pg_xact_commit_timestamp((${txid} % 4294967296)::text::xid)`;
    const one = async (text: string): Promise<number> => Number((await client.query(text)).rows[0]?.n ?? 0);
    const examples: string[] = [];
    const stale = await client.query(`
      WITH w AS (SELECT DISTINCT txid, source, token FROM ${s}.chaos_audit_fenced),
           g AS (SELECT source, token, owner, pg_xact_commit_timestamp(xmin) AS at FROM ${s}.lease_grants)
      SELECT w.txid, w.source, w.token, min(g.token) AS newer, ${commit("w.txid")} AS committed, min(g.at) AS granted
      FROM w JOIN g ON g.source = w.source AND g.token > w.token
      WHERE ${commit("w.txid")} > g.at
      GROUP BY w.txid, w.source, w.token`);
    for (const row of stale.rows.slice(0, 3)) examples.push(`stale write: source ${row.source} token ${row.token} committed ${new Date(row.committed).toISOString()} after token ${row.newer} was granted ${new Date(row.granted).toISOString()}`);
    const unfencedRows = `FROM ${s}.chaos_audit_writes w WHERE NOT EXISTS (SELECT 1 FROM ${s}.chaos_audit_fenced f WHERE f.txid = w.txid AND f.source = w.source)`;
    const unfenced = await client.query(`SELECT w.tbl, count(DISTINCT (w.txid, w.source)) AS n ${unfencedRows} AND NOT (w.tbl = ANY($1::text[])) GROUP BY w.tbl`, [NOT_PASS_WRITES]);
    const unfencedByTable: Record<string, number> = {};
    for (const row of unfenced.rows) unfencedByTable[row.tbl] = Number(row.n);
    const deliveryWrites = Number((await client.query(`SELECT count(DISTINCT (w.txid, w.source)) AS n ${unfencedRows} AND w.tbl = ANY($1::text[])`, [NOT_PASS_WRITES])).rows[0]?.n ?? 0);
    const sample = await client.query(`SELECT w.tbl, w.source, w.txid ${unfencedRows} AND NOT (w.tbl = ANY($1::text[])) LIMIT 3`, [NOT_PASS_WRITES]);
    for (const row of sample.rows) examples.push(`unfenced write: ${row.tbl} of source ${row.source} in transaction ${row.txid}`);
    const reasons: Record<string, number> = {};
    for (const row of (await client.query(`SELECT reason, count(*) AS n FROM ${s}.lease_grants GROUP BY reason`)).rows) reasons[String(row.reason)] = Number(row.n);
    return {
      fencedTransactions: await one(`SELECT count(DISTINCT txid) AS n FROM ${s}.chaos_audit_fenced`),
      writeTransactions: await one(`SELECT count(DISTINCT txid) AS n FROM ${s}.chaos_audit_writes`),
      staleAccepted: stale.rowCount ?? 0,
      staleByStamps: await one(`SELECT count(*) AS n FROM ${s}.fenced_writes w JOIN ${s}.lease_grants g ON g.source = w.source AND g.token > w.token WHERE w.last_at > g.granted_at`),
      unfenced: Object.values(unfencedByTable).reduce((a, b) => a + b, 0),
      unfencedByTable,
      deliveryWrites,
      grants: Object.values(reasons).reduce((a, b) => a + b, 0),
      grantsByReason: reasons,
      rejections: await one(`SELECT count(*) AS n FROM ${s}.fence_rejections`),
      examples,
    };
  });
}

/** The sources a replica holds now (lease unexpired, by the database's clock; not the lease of removed sources' deliveries). */
export async function sourcesHeldBy(url: string, replica: string): Promise<string[]> {
  return withClient(url, async (client, s) => (await client.query(`SELECT source FROM ${s}.leases WHERE owner = $1 AND expires_at > now() AND source <> '*'`, [replica])).rows.map((r) => String(r.source)));
}

/** A replica's unexpired leases with their tokens and expiry (epoch ms, the database's clock). */
export async function leasesHeldBy(url: string, replica: string): Promise<Array<{ source: string; token: number; expiresAt: number }>> {
  return withClient(url, async (client, s) =>
    (await client.query(`SELECT source, token, extract(epoch FROM expires_at) * 1000 AS expires FROM ${s}.leases WHERE owner = $1 AND expires_at > now() AND source <> '*'`, [replica])).rows.map((r) => ({
      source: String(r.source),
      token: Number(r.token),
      expiresAt: Number(r.expires),
    })),
  );
}

/** Every lease grant (source, token, owner, epoch ms of the grant by the database's clock). */
export async function leaseGrants(url: string): Promise<Array<{ source: string; token: number; owner: string; at: number }>> {
  return withClient(url, async (client, s) =>
    (await client.query(`SELECT source, token, owner, extract(epoch FROM granted_at) * 1000 AS at FROM ${s}.lease_grants ORDER BY token`)).rows.map((r) => ({
      source: String(r.source),
      token: Number(r.token),
      owner: String(r.owner),
      at: Number(r.at),
    })),
  );
}

/** Whether the replicas' tables exist yet. */
export async function clusterTablesReady(url: string): Promise<boolean> {
  return withClient(url, async (client) => {
    const rows = (await client.query(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('fenced_writes', 'lease_grants', 'leases')`, [schemaOf(url)])).rows;
    return Number(rows[0]?.n) === 3;
  }).catch(() => false);
}
