import type { ClusterStore, LeaseGrant, LeaseRow, ReplicaRow } from "../store.js";
import type pg from "pg";
import type { Db } from "./db.js";

/*
 * The views (replicas(), leases()) select their columns named and typed as the row types: times
 * as ISO text like `Date.toISOString()`, numbers as int or float8 (pg hands bigint and numeric
 * back as strings), so the rows need no conversion.
 */
const isoText = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** Milliseconds from now (the database's clock) until `time`, 0 once past. */
const msUntil = (time: string): string => `greatest(0, extract(epoch FROM ${time} - clock_timestamp()) * 1000)::float8`;
/** Milliseconds since `time`, 0 while it is ahead. */
const msSince = (time: string): string => `greatest(0, extract(epoch FROM clock_timestamp() - ${time}) * 1000)::float8`;

/**
 * Replicas and leases (docs/decisions/0013). Every time that matters is the database's
 * (`clock_timestamp()`), never a replica's. A grant locks the lease row FOR UPDATE before it
 * stamps anything, so it is ordered after every fenced write that held the row (fencing.ts).
 */
export function pgCluster(db: Db): ClusterStore {
  const LIVE = "heartbeat_at > clock_timestamp() - lease_ms * interval '1 millisecond' AND NOT draining";
  const upsertReplica = async (me: Parameters<ClusterStore["join"]>[0], draining: boolean): Promise<boolean> => {
    const rows = await db.query(
      `INSERT INTO @.replicas AS r (id, host, pid, version, instance, lease_ms, started_at, heartbeat_at, draining)
       VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), clock_timestamp(), $7)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version, lease_ms = excluded.lease_ms,
         started_at = CASE WHEN r.instance = excluded.instance THEN r.started_at ELSE excluded.started_at END,
         instance = excluded.instance, heartbeat_at = excluded.heartbeat_at, draining = excluded.draining
       WHERE r.instance = excluded.instance OR r.draining OR r.heartbeat_at <= clock_timestamp() - r.lease_ms * interval '1 millisecond'
       RETURNING id`,
      [me.id, me.host, me.pid, me.version, me.instance, me.leaseMs, draining],
    );
    return rows.length > 0;
  };
  /**
   * Ends the open transactions of replicas that hold an expired lease among `sources` and are
   * not live (no heartbeat for a whole lease: paused, or cut off) — transactions idle, or
   * waiting on a lock, for more than a third of the lease. Such a transaction can never commit
   * anything that counts: its fence check would refuse the write once the lease is granted
   * again; ending it only rolls it back earlier than the idle timeout would. Needs the right to
   * signal those sessions (the same database role, or pg_signal_backend); without it, the idle
   * timeout still ends them. Returns how many were ended.
   */
  async function endStuckWrites(owner: string, sources: string[], leaseMs: number): Promise<number> {
    try {
      const rows = await db.query(
        `WITH stuck AS (
           SELECT DISTINCT left('retrohook replica ' || l.owner, 63) AS app FROM @.leases l
           WHERE l.source = ANY($1::text[]) AND l.expires_at <= clock_timestamp() AND l.owner <> $2
             AND NOT EXISTS (SELECT 1 FROM @.replicas r WHERE r.id = l.owner AND r.heartbeat_at > clock_timestamp() - r.lease_ms * interval '1 millisecond')
         )
         SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid)) AS n FROM pg_stat_activity a JOIN stuck ON a.application_name = stuck.app
         WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
           AND (a.state LIKE 'idle in transaction%' OR a.wait_event_type = 'Lock')
           AND a.state_change < clock_timestamp() - $3 * interval '1 millisecond'
           AND NOT EXISTS (SELECT 1 FROM @.replicas r WHERE r.heartbeat_at > clock_timestamp() - r.lease_ms * interval '1 millisecond' AND left('retrohook replica ' || r.id, 63) = a.application_name)`,
        [sources, owner, Math.round(leaseMs / 3)],
      );
      return Number(rows[0]?.n ?? 0);
    } catch {
      return 0;
    }
  }

  async function grant(owner: string, sources: string[], leaseMs: number): Promise<Map<string, LeaseGrant>> {
    const granted = new Map<string, LeaseGrant>();
    if (sources.length === 0) return granted;
    // One statement (one round trip: a takeover is on the clock). Only expired rows, and only
    // those nobody holds a lock on: a fenced write in progress (its owner may be paused in the
    // middle of it) holds its row FOR KEY SHARE, another replica's grant FOR UPDATE. Such a
    // source waits for a later round — it never holds this grant (nor the others' renewals and
    // writes queued behind it) up. A grant is so always stamped after every write that held
    // its row. A source with no row yet is inserted (a concurrent insert wins, this one skips).
    const rows = await db.query(
      `WITH wanted AS (SELECT DISTINCT unnest($2::text[]) AS source),
       locked AS (
         SELECT source, owner, token FROM @.leases WHERE source = ANY($2::text[]) AND expires_at <= clock_timestamp()
         ORDER BY source FOR UPDATE SKIP LOCKED
       ),
       free AS (
         SELECT w.source, l.owner AS previous_owner, l.token AS previous_token FROM wanted w LEFT JOIN locked l ON l.source = w.source
         WHERE l.source IS NOT NULL OR NOT EXISTS (SELECT 1 FROM @.leases e WHERE e.source = w.source)
         ORDER BY w.source
       ),
       tokens AS (SELECT source, previous_owner, previous_token, nextval('@.lease_tokens') AS token FROM free),
       taken AS (
         UPDATE @.leases l SET owner = $1, token = t.token, granted_at = clock_timestamp(), expires_at = clock_timestamp() + $3 * interval '1 millisecond'
         FROM tokens t WHERE t.previous_token IS NOT NULL AND l.source = t.source RETURNING l.source
       ),
       inserted AS (
         INSERT INTO @.leases (source, owner, token, granted_at, expires_at)
         SELECT source, $1, token, clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond' FROM tokens WHERE previous_token IS NULL
         ON CONFLICT (source) DO NOTHING RETURNING source
       )
       INSERT INTO @.lease_grants (token, source, owner, granted_at, previous_owner, previous_token, reason)
       SELECT t.token, t.source, $1, clock_timestamp(), t.previous_owner, t.previous_token, CASE WHEN t.previous_owner IS NULL THEN 'free' ELSE 'takeover' END
       FROM tokens t WHERE t.source IN (SELECT source FROM taken UNION ALL SELECT source FROM inserted)
       RETURNING source, token, previous_owner`,
      [owner, sources, leaseMs],
    );
    for (const r of rows) {
      const token = Number(r.token);
      const previous = r.previous_owner as string | null;
      granted.set(r.source as string, previous === null ? { token } : { token, previousOwner: previous });
    }
    return granted;
  }

  return {
    join: (me) => upsertReplica(me, false),

    async heartbeat(me, draining) {
      const rows = await db.query("UPDATE @.replicas SET heartbeat_at = clock_timestamp(), draining = $3 WHERE id = $1 AND instance = $2 RETURNING id", [me.id, me.instance, draining]);
      return rows.length > 0 || upsertReplica(me, draining);
    },

    async leave(me, pruneMs) {
      await db.query("DELETE FROM @.replicas WHERE (id = $1 AND instance = $2) OR heartbeat_at < clock_timestamp() - $3 * interval '1 millisecond'", [me.id, me.instance, pruneMs]);
    },

    async replicas() {
      return (await db.query(
        `SELECT id, host, pid, version, lease_ms AS "leaseMs", ${isoText("started_at")} AS "startedAt", ${isoText("heartbeat_at")} AS "heartbeatAt",
           draining, (${LIVE}) AS live, ${msUntil("heartbeat_at + lease_ms * interval '1 millisecond'")} AS "liveForMs"
         FROM @.replicas ORDER BY id`,
      )) as unknown as ReplicaRow[];
    },

    async leases() {
      return (await db.query(
        `SELECT source, owner, token::float8 AS token, ${isoText("granted_at")} AS "grantedAt", ${isoText("expires_at")} AS "expiresAt",
           expires_at > clock_timestamp() AS valid, ${msSince("expires_at")} AS "expiredForMs", ${msUntil("expires_at")} AS "remainingMs"
         FROM @.leases ORDER BY source`,
      )) as unknown as LeaseRow[];
    },

    async renew(owner, held, leaseMs) {
      if (held.length === 0) return [];
      // FOR NO KEY UPDATE: the owner's own fenced writes (FOR KEY SHARE) do not hold it up.
      const rows = await db.query(
        `WITH mine AS (
           SELECT l.source FROM @.leases l JOIN unnest($2::text[], $3::bigint[]) AS h(source, token) ON l.source = h.source AND l.token = h.token
           WHERE l.owner = $1 ORDER BY l.source FOR NO KEY UPDATE OF l
         )
         UPDATE @.leases l SET expires_at = clock_timestamp() + $4 * interval '1 millisecond' FROM mine WHERE l.source = mine.source RETURNING l.source`,
        [owner, held.map((h) => h.source), held.map((h) => h.token), leaseMs],
      );
      return rows.map((r) => r.source as string);
    },

    async acquire(owner, sources, leaseMs) {
      const granted = await grant(owner, sources, leaseMs);
      const rest = sources.filter((source) => !granted.has(source));
      // An expired row still locked is most often a paused replica's write (SIGSTOP, a frozen
      // VM): end it now rather than wait for the database's idle timeout, then try once more.
      if (rest.length > 0 && (await endStuckWrites(owner, rest, leaseMs)) > 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (const [source, lease] of await grant(owner, rest, leaseMs)) granted.set(source, lease);
      }
      return granted;
    },

    async release(owner, held) {
      if (held.length === 0) return;
      await db.query(
        `UPDATE @.leases l SET expires_at = clock_timestamp() FROM unnest($2::text[], $3::bigint[]) AS h(source, token)
         WHERE l.source = h.source AND l.token = h.token AND l.owner = $1`,
        [owner, held.map((h) => h.source), held.map((h) => h.token)],
      );
    },
  };
}

/**
 * A replica paused in the middle of a transaction (a fenced write holds its lease row) must not
 * hold the other replicas up past its lease: every connection of the pool asks the database to
 * end a transaction left idle longer than the lease (docs/decisions/0013). The paused replica's
 * write is then rolled back, and its connection dropped (the pool opens a new one).
 */
export function endIdleTransactions(pool: pg.Pool, leaseMs: number, replicaId?: string): void {
  const idleMs = Math.max(1000, Math.round(leaseMs));
  pool.on("connect", (client) => {
    void client.query(`SET idle_in_transaction_session_timeout = ${idleMs}`).catch(() => undefined);
    if (replicaId !== undefined) void client.query("SELECT set_config('application_name', $1, false)", [applicationName(replicaId)]).catch(() => undefined);
  });
}

/** A replica's connections' `application_name` (PostgreSQL keeps 63 bytes; ids are ASCII). */
export function applicationName(replicaId: string): string {
  return `retrohook replica ${replicaId}`.slice(0, 63);
}
