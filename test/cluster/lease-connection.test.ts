import pg from "pg";
import { describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import { postgresForFile } from "../helpers/postgres.js";

/**
 * A replica's lease rounds run on a connection of their own (docs/decisions/0019): a tick starts
 * thousands of passes whose statements fill the pool's queue, and a renewal waiting behind them
 * past the lease's margin loses every lease the replica holds.
 */
const pgServer = postgresForFile();
const schemaOf = (url: string): string => /schema=([a-z0-9_]+)/.exec(url)![1]!;

describe("a replica's lease round", () => {
  it("renews while every connection of the pool is taken by pass writes that wait", async () => {
    const url = pgServer().freshUrl();
    const store = await openStateStore(url, { replica: true, leaseMs: 60_000, replicaId: "A" });
    const blocker = new pg.Client({ connectionString: url.replace(/\?.*$/, "") });
    await blocker.connect();
    const writes: Array<Promise<unknown>> = [];
    try {
      const cluster = store.cluster!;
      const grant = (await cluster.acquire("A", ["s"], 60_000)).get("s")!;
      // Every connection of the passes' pool and more wait on a lock another session holds.
      await blocker.query("BEGIN");
      await blocker.query(`LOCK TABLE "${schemaOf(url)}".resource_state IN ACCESS EXCLUSIVE MODE`);
      let writesDone = false;
      for (let i = 0; i < 15; i += 1) writes.push(store.putResourceState({ source: "s", resource: `r${i}` }, { generation: "g", initialized: true }));
      const allWrites = Promise.all(writes).then(() => (writesDone = true));
      allWrites.catch(() => undefined);
      await expect
        .poll(async () => Number((await blocker.query("SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND relation = $1::regclass", [`"${schemaOf(url)}".resource_state`])).rows[0].n), { timeout: 20_000 })
        .toBeGreaterThanOrEqual(9);

      const renewed = await cluster.renew("A", [{ source: "s", token: grant.token }], 60_000);
      expect(renewed).toEqual(["s"]);
      // The writes were still waiting: the renewal did not need a pool connection.
      expect(writesDone).toBe(false);
      await blocker.query("COMMIT");
      await allWrites;
    } finally {
      await blocker.query("ROLLBACK").catch(() => undefined);
      await Promise.allSettled(writes);
      await blocker.end();
      await store.close();
    }
  });
});
