import pg from "pg";
import { describe, expect, it } from "vitest";
import { applicationName, endIdleTransactions } from "../../src/store/postgres/cluster.js";
import { checkFence } from "../../src/store/postgres/fencing.js";
import { openStateStore } from "../../src/store/open.js";
import { postgresForFile, sql } from "../helpers/postgres.js";

/**
 * A replica SIGSTOPped in the middle of a fenced write keeps its transaction — and the lock on
 * its source's lease row — open for as long as it is stopped. That must hold up nobody: not the
 * other replicas' grants (of that source or any other), not their renewals, not its own renewal;
 * and the database ends the paused transaction after the lease, so the source is taken over.
 * (The cluster chaos suite saw all three replicas stall for the whole SIGSTOP.)
 */
const pgServer = postgresForFile();
const schemaOf = (url: string): string => /schema=([a-z0-9_]+)/.exec(url)![1]!;

/** Rejects when `work` takes longer than `ms` (a statement waiting on a lock). */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms (held up by a lock)`)), ms)))]).finally(() => clearTimeout(timer));
}

/** A raw session of the paused replica: the transaction of a fenced write, stopped after its check. */
async function pausedWrite(url: string, fence: { source: string; token: number; owner: string }): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url.replace(/[?&]schema=[^&]*/, ""), application_name: applicationName(fence.owner) });
  client.on("error", () => undefined);
  await client.connect();
  await client.query("BEGIN");
  await checkFence(async (text, values) => (await client.query(text.replaceAll("@.", `"${schemaOf(url)}".`), values)).rows, fence);
  return client;
}

describe("a replica paused inside a fenced write", () => {
  it("holds up no grant and no renewal; its source is taken over once its lease ran out and its write ended", async () => {
    const url = pgServer().freshUrl();
    const a = await openStateStore(url, { replica: true, leaseMs: 1000 });
    const b = await openStateStore(url, { replica: true, leaseMs: 1000 });
    const paused: pg.Client[] = [];
    try {
      const s = (await a.cluster!.acquire("A", ["s"], 600)).get("s")!;
      const mine = (await a.cluster!.acquire("A", ["m"], 60_000)).get("m")!;
      const theirs = (await b.cluster!.acquire("B", ["t"], 60_000)).get("t")!;
      paused.push(await pausedWrite(url, { source: "s", token: s.token, owner: "A" }));
      paused.push(await pausedWrite(url, { source: "m", token: mine.token, owner: "A" }));
      // Its own renewal does not wait for its own writes.
      expect(await within(2000, "A renewing", a.cluster!.renew("A", [{ source: "m", token: mine.token }], 60_000))).toEqual(["m"]);
      await new Promise((resolve) => setTimeout(resolve, 800));

      // s ran out; its row is still held by the paused write. B's grant skips it and gets the free one.
      const grants = await within(2000, "B acquiring", b.cluster!.acquire("B", ["s", "u"], 60_000));
      expect([...grants.keys()]).toEqual(["u"]);
      // B's renewal, and a fenced write of B, are not held up either.
      expect(await within(2000, "B renewing", b.cluster!.renew("B", [{ source: "t", token: theirs.token }], 60_000))).toEqual(["t"]);

      // The paused write ends (here: rolled back; a real paused replica's by the idle timeout): s is granted.
      await paused[0]!.query("ROLLBACK");
      const taken = (await within(2000, "B taking s over", b.cluster!.acquire("B", ["s"], 60_000))).get("s");
      expect(taken).toMatchObject({ previousOwner: "A" });
      expect(taken!.token).toBeGreaterThan(s.token);
      const violations = await sql(url, `SELECT count(*) AS n FROM "${schemaOf(url)}".fenced_writes w JOIN "${schemaOf(url)}".lease_grants g ON g.source = w.source AND g.token > w.token WHERE w.last_at > g.granted_at`);
      expect(Number(violations[0]!.n)).toBe(0);
    } finally {
      for (const client of paused) await client.end().catch(() => undefined);
      await a.close();
      await b.close();
    }
  }, 30_000);

  it("is ended by the grant once its replica is not live: the source is taken over at the expiry, not after the idle timeout", async () => {
    const url = pgServer().freshUrl();
    const a = await openStateStore(url, { replica: true, leaseMs: 600, replicaId: "A" });
    const b = await openStateStore(url, { replica: true, leaseMs: 600, replicaId: "B" });
    const me = { id: "A", host: "h", pid: 1, version: "v", instance: "i1", leaseMs: 60_000 };
    let paused: pg.Client | undefined;
    try {
      expect(await a.cluster!.join(me)).toBe(true);
      const s = (await a.cluster!.acquire("A", ["s"], 600)).get("s")!;
      paused = await pausedWrite(url, { source: "s", token: s.token, owner: "A" });
      await new Promise((resolve) => setTimeout(resolve, 800));
      // The lease ran out, but A is live (its heartbeat is recent): a slow replica's write is left alone.
      expect([...(await within(2000, "B acquiring", b.cluster!.acquire("B", ["s"], 600))).keys()]).toEqual([]);
      expect((await paused.query("SELECT 1 AS one")).rows[0]).toEqual({ one: 1 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // A stops heartbeating (here: leaves the table; a SIGSTOPped replica's heartbeat ages out).
      await a.cluster!.leave(me, 24 * 60 * 60_000);
      const taken = (await within(2000, "B taking s over", b.cluster!.acquire("B", ["s"], 600))).get("s");
      expect(taken, "taken over at once: the paused write was ended").toMatchObject({ previousOwner: "A" });
      await expect(paused.query("SELECT 1")).rejects.toThrow(/terminat|connection/i);
    } finally {
      await paused?.end().catch(() => undefined);
      await a.close();
      await b.close();
    }
  }, 30_000);

  it("the database ends a replica's transaction left idle longer than the lease", async () => {
    const url = pgServer().freshUrl();
    const pool = new pg.Pool({ connectionString: url.replace(/[?&]schema=[^&]*/, ""), max: 1 });
    pool.on("error", () => undefined);
    endIdleTransactions(pool, 1000);
    const client = await pool.connect();
    client.on("error", () => undefined);
    try {
      await client.query("BEGIN");
      await client.query("SELECT 1");
      await new Promise((resolve) => setTimeout(resolve, 1600));
      await expect(client.query("SELECT 1")).rejects.toThrow(/idle-in-transaction timeout|connection error|terminat/i);
    } finally {
      client.release(true);
      await pool.end();
    }
  }, 30_000);
});
