import type { ClusterStore, LeaseGrant, LeaseRow, ReplicaRow } from "../store.js";
import type pg from "pg";
import type { Db } from "./db.js";

const iso = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value));

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
      const rows = await db.query(`SELECT id, host, pid, version, lease_ms, started_at, heartbeat_at, draining, (${LIVE}) AS live FROM @.replicas ORDER BY id`);
      return rows.map(
        (r): ReplicaRow => ({
          id: r.id as string,
          host: r.host as string,
          pid: Number(r.pid),
          version: r.version as string,
          leaseMs: Number(r.lease_ms),
          startedAt: iso(r.started_at),
          heartbeatAt: iso(r.heartbeat_at),
          draining: r.draining as boolean,
          live: r.live as boolean,
        }),
      );
    },

    async leases() {
      const rows = await db.query(
        `SELECT source, owner, token, granted_at, expires_at, expires_at > clock_timestamp() AS valid,
           greatest(0, extract(epoch FROM clock_timestamp() - expires_at) * 1000) AS expired_for,
           greatest(0, extract(epoch FROM expires_at - clock_timestamp()) * 1000) AS remaining
         FROM @.leases ORDER BY source`,
      );
      return rows.map(
        (r): LeaseRow => ({
          source: r.source as string,
          owner: r.owner as string,
          token: Number(r.token),
          grantedAt: iso(r.granted_at),
          expiresAt: iso(r.expires_at),
          valid: r.valid as boolean,
          expiredForMs: Number(r.expired_for),
          remainingMs: Number(r.remaining),
        }),
      );
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
      const granted = new Map<string, LeaseGrant>();
      if (sources.length === 0) return granted;
      const wanted = [...new Set(sources)].sort();
      return db.tx(async (q) => {
        // Only expired rows, and only those nobody holds a lock on: a fenced write in progress
        // (its owner may be paused in the middle of it) holds its row FOR KEY SHARE, another
        // replica's grant FOR UPDATE. Such a source waits for a later round — it never holds this
        // grant (nor the others' renewals and writes queued behind it) up. A grant is so always
        // stamped after every write that held its row.
        const rows = await q("SELECT source, owner, token FROM @.leases WHERE source = ANY($1::text[]) AND expires_at <= clock_timestamp() ORDER BY source FOR UPDATE SKIP LOCKED", [wanted]);
        const before = new Map(rows.map((r) => [r.source as string, r]));
        const existing = new Set((await q("SELECT source FROM @.leases WHERE source = ANY($1::text[])", [wanted])).map((r) => r.source as string));
        const free = wanted.filter((source) => before.has(source) || !existing.has(source));
        if (free.length === 0) return granted;
        const tokens = (await q("SELECT nextval('@.lease_tokens') AS t FROM generate_series(1, $1)", [free.length])).map((r) => Number(r.t));
        const taken = free.filter((source) => before.has(source));
        const fresh = free.filter((source) => !before.has(source));
        const tokenOf = new Map(free.map((source, i) => [source, tokens[i]!]));
        if (taken.length > 0) {
          await q(
            `UPDATE @.leases l SET owner = $1, token = t.token, granted_at = clock_timestamp(), expires_at = clock_timestamp() + $4 * interval '1 millisecond'
             FROM unnest($2::text[], $3::bigint[]) AS t(source, token) WHERE l.source = t.source`,
            [owner, taken, taken.map((source) => tokenOf.get(source)), leaseMs],
          );
        }
        let inserted: string[] = [];
        if (fresh.length > 0) {
          inserted = (
            await q(
              `INSERT INTO @.leases (source, owner, token, granted_at, expires_at)
               SELECT source, $1, token, clock_timestamp(), clock_timestamp() + $4 * interval '1 millisecond' FROM unnest($2::text[], $3::bigint[]) AS t(source, token)
               ON CONFLICT (source) DO NOTHING RETURNING source`,
              [owner, fresh, fresh.map((source) => tokenOf.get(source)), leaseMs],
            )
          ).map((r) => r.source as string);
        }
        const got = [...taken, ...inserted];
        if (got.length === 0) return granted;
        await q(
          `INSERT INTO @.lease_grants (token, source, owner, granted_at, previous_owner, previous_token, reason)
           SELECT token, source, $1, clock_timestamp(), previous_owner, previous_token, CASE WHEN previous_owner IS NULL THEN 'free' ELSE 'takeover' END
           FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[]) AS t(source, token, previous_owner, previous_token)`,
          [owner, got, got.map((source) => tokenOf.get(source)), got.map((source) => (before.get(source)?.owner as string | undefined) ?? null), got.map((source) => (before.has(source) ? Number(before.get(source)!.token) : null))],
        );
        for (const source of got) {
          const previous = before.get(source)?.owner as string | undefined;
          granted.set(source, previous === undefined ? { token: tokenOf.get(source)! } : { token: tokenOf.get(source)!, previousOwner: previous });
        }
        return granted;
      });
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
export function endIdleTransactions(pool: pg.Pool, leaseMs: number): void {
  const idleMs = Math.max(1000, Math.round(leaseMs));
  pool.on("connect", (client) => void client.query(`SET idle_in_transaction_session_timeout = ${idleMs}`).catch(() => undefined));
}
