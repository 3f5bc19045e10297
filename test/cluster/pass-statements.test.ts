import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { withFence, type Fence } from "../../src/store/fence.js";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { MODIFIED_SINCE, passRunner, restResource, restSource } from "../helpers/pass-harness.js";
import { postgresForFile } from "../helpers/postgres.js";

/**
 * What a replica's quiet pass costs the database (docs/decisions/0019): thousands of sources on
 * one schedule start their passes together, each waiting its turn on the pool for every
 * statement, so every round trip of a pass counts. A pass that finds nothing new makes no
 * transaction of several statements: each write is one statement with its fence check inside.
 */
const pgServer = postgresForFile();
let api: FakeRest | undefined;
let store: StateStore | undefined;

afterEach(async () => {
  await store?.close();
  await api?.close();
});

/** The statements sent to PostgreSQL by any connection while `work` runs. */
async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const query = args[0] as string | { text?: string };
    sent.push((typeof query === "string" ? query : (query.text ?? "")).replace(/\s+/g, " ").trim());
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    await work();
  } finally {
    pg.Client.prototype.query = original;
  }
  return sent;
}

describe("a replica's pass on PostgreSQL", () => {
  it("that finds nothing new makes no multi-statement transaction: its writes are single fenced statements", async () => {
    api = await startFakeRest();
    api.seed(20);
    store = await openStateStore(pgServer().freshUrl(), { replica: true });
    const config = restSource(api.url, api.token, [restResource({ cursor: MODIFIED_SINCE })]);
    const grant = (await store.cluster!.acquire("A", [config.name], 60_000)).get(config.name)!;
    const fence: Fence = { source: config.name, token: grant.token, owner: "A" };
    const opened = store;
    const run = passRunner(() => opened, config);
    await withFence(fence, () => run.pass());
    await withFence(fence, () => run.pass());

    const sent = await statementsOf(() => withFence(fence, () => run.pass()));
    expect(sent.filter((s) => /^(BEGIN|COMMIT)\b/i.test(s))).toEqual([]);
    const writes = sent.filter((s) => /\b(INSERT|UPDATE|DELETE)\b/i.test(s));
    // The cursor (resource state) and the journal entry: each one statement, fenced.
    expect(writes).toHaveLength(2);
    for (const write of writes) expect(write).toMatch(/^WITH held AS \(SELECT source FROM "[^"]+"\.leases WHERE .* FOR KEY SHARE\), fence AS \(INSERT INTO "[^"]+"\.fenced_writes/);
    // Reads: source and resource state, the page marks (sequence, page and change marks in one
    // statement, the sequence also standing for the compare's), the snapshots, the staged check.
    expect(sent.filter((s) => /\bcounters\b/.test(s))).toHaveLength(1);
    expect(sent.length).toBeLessThanOrEqual(7);
    expect((await store.listPasses({ source: config.name, resource: "items" })).map((p) => p.ok)).toEqual([true, true, true]);
  });
});
