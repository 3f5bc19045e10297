import { describe, expect, it } from "vitest";
import { currentFence, FencedError, withFence, type Fence } from "../../src/store/fence.js";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import type { RecordRef } from "../../src/core/types.js";
import { item } from "../store/contract/backend.js";
import { postgresForFile, sql } from "../helpers/postgres.js";

/**
 * Leases and fencing on PostgreSQL (docs/decisions/0013): a pass's writes are accepted only
 * while its token is the current one of its source's lease, checked in the write's own
 * transaction; a stale writer keeps nothing; the database alone shows no stale write went in.
 */
const pgServer = postgresForFile();
const schemaOf = (url: string): string => /schema=([a-z0-9_]+)/.exec(url)![1]!;
const id = { source: "s", resource: "items" };

/** Writes a stale pass would make: cursor, snapshots, page marks, outbox, a page (events with snapshots), budget, source state, journal. */
function passWrites(store: StateStore, n: number): Array<[string, () => Promise<unknown>]> {
  return [
    ["cursor", () => store.putResourceState(id, { generation: "g", initialized: true, cursor: `c${n}` })],
    ["snapshots", () => store.putSnapshots(id, [{ kind: null, id: `r${n}`, snapshot: { version: 1, fingerprint: `f${n}`, json: "{}" } }])],
    ["page marks", () => store.putPageMarks(id, new Map([[`p${n}`, 1]]), false)],
    ["outbox", () => store.enqueue([item(`e${n}`, `s/items/\u001f${n}`, ["t"])])],
    ["page", () => store.commitPage(id, [item(`pe${n}`, `s/items/\u001fp${n}`, ["t"])], [{ kind: null, id: `p${n}`, snapshot: { version: 1, fingerprint: `f${n}`, json: "{}" } }])],
    ["budget", () => store.putBudget("s", { period: "2026-12", used: n })],
    ["source state", () => store.putSourceState("s", { backoffUntil: `x${n}` })],
    ["journal", () => store.appendPass(id, { at: "2026-12-07T00:00:00.000Z", mode: "incremental", listing: "incremental", firstRun: false, ok: true, records: n, events: 0, baselined: 0, deleted: 0 })],
  ];
}

const acquire = async (store: StateStore, owner: string, source: string, ms: number) => (await store.cluster!.acquire(owner, [source], ms)).get(source);

const violations = async (url: string): Promise<number> =>
  Number(
    (
      await sql(
        url,
        `SELECT count(*) AS n FROM "${schemaOf(url)}".fenced_writes w JOIN "${schemaOf(url)}".lease_grants g ON g.source = w.source AND g.token > w.token WHERE w.last_at > g.granted_at`,
      )
    )[0]!.n,
  );

/** Two replicas' stores over a fresh schema, closed after `work`. */
async function withTwoReplicas(work: (url: string, a: StateStore, b: StateStore) => Promise<void>): Promise<void> {
  const url = pgServer().freshUrl();
  const a = await openStateStore(url, { replica: true });
  const b = await openStateStore(url, { replica: true });
  try {
    await work(url, a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

describe("fencing", () => {
  it("a stale token's writes are refused whole; the current owner's go in; the database shows no stale write", () =>
    withTwoReplicas(async (url, a, b) => {
      const first = await acquire(a, "A", "s", 60_000);
      expect(first).toEqual({ token: expect.any(Number) });
      // Held: nobody else gets it.
      expect(await acquire(b, "B", "s", 60_000)).toBeUndefined();
      let rejected = 0;
      const fenceA: Fence = { source: "s", token: first!.token, owner: "A", rejected: () => (rejected += 1) };
      await withFence(fenceA, async () => {
        expect(currentFence()).toBe(fenceA);
        for (const [, write] of passWrites(a, 1)) await write();
      });
      expect(await a.getResourceState(id)).toMatchObject({ cursor: "c1" });

      // A is paused past its lease: B takes over with a higher token.
      await sql(url, `UPDATE "${schemaOf(url)}".leases SET expires_at = clock_timestamp() - interval '1 second'`);
      const second = await acquire(b, "B", "s", 60_000);
      expect(second!.token).toBeGreaterThan(first!.token);
      expect(second!.previousOwner).toBe("A");

      // A wakes: every write of its pass fails, nothing of it is kept.
      for (const [what, write] of passWrites(a, 2)) {
        await expect(withFence(fenceA, write), what).rejects.toBeInstanceOf(FencedError);
      }
      expect(rejected).toBe(8);
      expect(await a.getResourceState(id)).toMatchObject({ cursor: "c1" });
      expect(await a.getSnapshots(id, [{ kind: null, id: "r2" }])).toEqual(new Map());
      expect(await a.hasEvent("e2")).toBe(false);
      expect(await a.hasEvent("pe2")).toBe(false);
      expect(await a.getSnapshots(id, [{ kind: null, id: "p2" }])).toEqual(new Map());
      expect(await a.getBudget("s")).toEqual({ period: "2026-12", used: 1 });
      expect((await a.getSourceState("s"))?.backoffUntil).toBe("x1");
      expect(await a.listPasses(id)).toHaveLength(1);

      // B's writes go in.
      await withFence({ source: "s", token: second!.token, owner: "B" }, async () => {
        for (const [, write] of passWrites(b, 3)) await write();
      });
      expect(await b.getResourceState(id)).toMatchObject({ cursor: "c3" });

      // From the database: stale writes attempted (8 refused), none accepted.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const s = schemaOf(url);
      expect(Number((await sql(url, `SELECT count(*) AS n FROM "${s}".fence_rejections WHERE token = $1`, [first!.token]))[0]!.n)).toBe(8);
      expect(await sql(url, `SELECT token, writes FROM "${s}".fenced_writes ORDER BY token`)).toEqual([
        { token: String(first!.token), writes: "8" },
        { token: String(second!.token), writes: "8" },
      ]);
      expect(await violations(url)).toBe(0);
      expect((await sql(url, `SELECT source, owner, previous_owner, reason FROM "${s}".lease_grants ORDER BY token`)).map((r) => `${r.owner}<${r.previous_owner ?? "-"}:${r.reason}`)).toEqual(["A<-:free", "B<A:takeover"]);
    }));

  it("silent baseline pages commit under the fence of their own pass, also when two sources' baselines interleave", () =>
    withTwoReplicas(async (url, a, b) => {
      const s = { source: "s", resource: "items" };
      const t = { source: "t", resource: "items" };
      const grantS = await acquire(a, "A", "s", 60_000);
      const grantT = await acquire(a, "A", "t", 60_000);
      // A lost t to B (A was paused past its lease): A's pass over t is stale, its pass over s is not.
      await sql(url, `UPDATE "${schemaOf(url)}".leases SET expires_at = clock_timestamp() - interval '1 second' WHERE source = 't'`);
      expect((await acquire(b, "B", "t", 60_000))!.token).toBeGreaterThan(grantT!.token);
      const fenceS: Fence = { source: "s", token: grantS!.token, owner: "A" };
      const fenceT: Fence = { source: "t", token: grantT!.token, owner: "A" };
      const page = (from: number): [{ bytes: Buffer }, RecordRef[]] => {
        const records = Array.from({ length: 60 }, (_, i) => ({ id: from + i }));
        return [{ bytes: Buffer.from(JSON.stringify(records)) }, records.map((r) => ({ kind: null, id: String(r.id) }))];
      };
      // Queued without waiting for commits: while s's first page commits, its next two pages
      // wait and are committed together, in the turn of the second; t's page then comes in the
      // turn of s's third.
      for (const from of [1, 61, 121]) await withFence(fenceS, () => a.putBaseline(s, ...page(from)));
      await withFence(fenceT, () => a.putBaseline(t, ...page(1)));
      await expect(withFence(fenceT, () => a.countSnapshots(t))).rejects.toBeInstanceOf(FencedError);
      expect(await withFence(fenceS, () => a.countSnapshots(s))).toBe(180);
      expect(Number((await sql(url, `SELECT count(*) AS n FROM "${schemaOf(url)}".snapshots WHERE source = 't'`))[0]!.n)).toBe(0);
    }));

  it("an expired lease refuses writes even before anyone takes it over; a renewal with the same token lets them in again", async () => {
    const url = pgServer().freshUrl();
    const a = await openStateStore(url, { replica: true });
    try {
      const grant = await acquire(a, "A", "s", 60_000);
      const fence = { source: "s", token: grant!.token, owner: "A" };
      await sql(url, `UPDATE "${schemaOf(url)}".leases SET expires_at = clock_timestamp() - interval '1 second'`);
      await expect(withFence(fence, () => a.putBudget("s", { period: "p", used: 1 }))).rejects.toThrow(/lease on source s \(token \d+\) held by replica A is no longer current/);
      expect(await a.cluster!.renew("A", [{ source: "s", token: grant!.token }], 60_000)).toEqual(["s"]);
      await withFence(fence, () => a.putBudget("s", { period: "p", used: 1 }));
      expect(await a.getBudget("s")).toEqual({ period: "p", used: 1 });
      // A renewal under a token that is not current renews nothing.
      expect(await a.cluster!.renew("A", [{ source: "s", token: grant!.token + 1 }], 60_000)).toEqual([]);
      expect(await a.cluster!.renew("B", [{ source: "s", token: grant!.token }], 60_000)).toEqual([]);
    } finally {
      await a.close();
    }
  });

  it("a grant never overtakes a fenced write in progress: it is stamped after the write committed", () =>
    withTwoReplicas(async (url, a, b) => {
      for (let round = 0; round < 20; round += 1) {
        const source = `s${round}`;
        const grant = await acquire(a, "A", source, 200);
        const fence = { source, token: grant!.token, owner: "A" };
        // Writers race the takeover just as the lease runs out.
        const writes = Array.from({ length: 5 }, (_, i) =>
          withFence(fence, async () => {
            await new Promise((resolve) => setTimeout(resolve, 150 + i * 20));
            await a.putSnapshots({ source, resource: "items" }, [{ kind: null, id: `r${i}`, snapshot: { version: 1, fingerprint: "f", json: "{}" } }]);
          }).then(
            () => "ok",
            (error: unknown) => (error instanceof FencedError ? "fenced" : String(error)),
          ),
        );
        let taken: unknown;
        const deadline = Date.now() + 2000;
        while (!taken && Date.now() < deadline) taken = await acquire(b, "B", source, 60_000);
        expect(taken).toBeTruthy();
        const outcomes = await Promise.all(writes);
        expect(outcomes.every((o) => o === "ok" || o === "fenced"), outcomes.join()).toBe(true);
      }
      expect(await violations(url)).toBe(0);
    }), 60_000);

  it("replicas share the schema's lock; a process without `cluster` is refused beside them, and they beside it", async () => {
    const url = pgServer().freshUrl();
    const a = await openStateStore(url, { replica: true });
    const b = await openStateStore(url, { replica: true });
    await expect(openStateStore(url)).rejects.toThrow(/in use by another retrohook process.*configure `cluster` on each/);
    await a.close();
    await b.close();
    const single = await openStateStore(url);
    await expect(openStateStore(url, { replica: true })).rejects.toThrow(/in use by a retrohook process without `cluster`/);
    await single.close();
  });

  it("SQLite state refuses replica mode", async () => {
    await expect(openStateStore("sqlite::memory:", { replica: true })).rejects.toThrow(/replicas \(`cluster`\) need PostgreSQL state/);
  });
});
