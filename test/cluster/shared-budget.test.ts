import { afterAll, describe, expect, it } from "vitest";
import { openApp, type App } from "../../src/app.js";
import { ManualClock } from "../../src/clock.js";
import type { Config } from "../../src/config/types.js";
import { rendezvousOwner } from "../../src/core/rendezvous.js";
import { periodOf } from "../../src/core/budget-plan.js";
import { runSourcePass } from "../../src/pipeline/poll-pass.js";
import { withFence } from "../../src/store/fence.js";
import { silentLogger } from "../../src/telemetry/logger.js";
import { startFakturoidFake, type FakturoidFake } from "../fakes/fakturoid/fake.js";
import { postgresForFile, sql } from "../helpers/postgres.js";
import { fakturoidConfig } from "../sources/presets/fakturoid/harness.js";

/**
 * Acceptance 2 of replicas: three replicas of one PostgreSQL state share a source's request
 * budget — a month simulated with `budget: {requests: 1500, per: month}` costs the vendor at
 * most 1,500 requests in total, while the source's lease moves between the replicas (drained,
 * rejoined) so each of them polls it for part of the month and one of them polls it again after
 * another spent from the budget meanwhile.
 *
 * Three `openApp` replicas in this process (each its own pool, lease rounds on the real clock,
 * 1 s lease); passes run as the scheduler runs them — on the replica whose lease is current,
 * under its fence, paced by the budget — with the month's time on a manual clock, a tick every
 * 15 minutes and a reconcile every hour (more than the budget allows). The vendor's count of
 * the month's requests must be ≤ 1,500 and equal the shared count in the database: a replica
 * that spent from its own stale copy of the budget would overwrite the others' spending.
 */
const pgServer = postgresForFile();
const SOURCE = "fakturoid";
const MINUTE = 60_000;
const TICK = 15 * MINUTE;
const IDS = ["budget-a", "budget-b", "budget-c"];

interface Member {
  id: string;
  app?: App;
  passes: number;
}

const members: Member[] = [];
let fake: FakturoidFake | undefined;

afterAll(async () => {
  for (const member of members) await member.app?.close().catch(() => undefined);
  await fake?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("replicas share one request budget", () => {
  it("three replicas over a simulated month with a budget of 1,500 requests spend at most 1,500 in total", async () => {
    const base = fakturoidConfig("http://127.0.0.1:1", ["invoices"], { budget: { requests: 1500, per: "month" }, schedule: "*/15 * * * *" });
    const period = periodOf(Date.parse("2026-11-15T12:00:00Z"), "month", base.timezone);
    const clock = new ManualClock(period.start, { autoAdvance: true });
    fake = await startFakturoidFake({ now: () => clock.now(), monthlyQuota: 1500 });
    for (let i = 0; i < 20; i += 1) fake.create("invoices");
    const url = pgServer().freshUrl();
    const configOf = (id: string): Config => ({
      path: "shared-budget.yaml",
      state: { url },
      server: { listen: "127.0.0.1:0" },
      sources: [{ ...base, base_url: fake!.url }],
      targets: [],
      cluster: { lease: 1000, replica_id: id },
    });
    for (const id of IDS) members.push({ id, passes: 0 });
    // The order in which the replicas win the source: the first while it is live, then the next.
    const order = [...IDS].sort((a, b) => (rendezvousOwner(SOURCE, [a, b]) === a ? -1 : 1)).map((id) => members.find((m) => m.id === id)!);
    const [first, second, third] = [order[0]!, order[1]!, order[2]!];

    const join = async (member: Member): Promise<void> => {
      member.app = await openApp(configOf(member.id), { logger: silentLogger(), clock, replica: true });
      await member.app.replica!.start();
    };
    const leave = async (member: Member): Promise<void> => {
      const app = member.app!;
      member.app = undefined;
      await app.replica!.beginDrain();
      await app.replica!.finishDrain();
      await app.close();
    };
    const holders = (): Member[] => members.filter((m) => m.app?.replica?.fence(SOURCE) !== undefined);
    const owner = async (expected: Member): Promise<void> => until(() => holders().length === 1 && holders()[0] === expected, `${expected.id} to hold the lease`);

    // The month in six stretches; the lease moves between them (between passes, as in `run`).
    const phases: Array<{ change: () => Promise<void>; owner: Member }> = [
      { change: async () => Promise.all(members.map(join)).then(() => undefined), owner: first },
      { change: () => leave(first), owner: second },
      { change: () => join(first), owner: first },
      // `second` polls again after `first` spent from the budget since `second` last read it.
      { change: () => leave(first), owner: second },
      { change: () => leave(second), owner: third },
      { change: async () => Promise.all([join(first), join(second)]).then(() => undefined), owner: first },
    ];
    const ticks = Math.floor((period.end - period.start) / TICK);
    let skippedByBudget = 0;
    const failed: string[] = [];
    let tick = 0;
    for (const [index, phase] of phases.entries()) {
      await phase.change();
      await owner(phase.owner);
      const last = Math.floor(((index + 1) * ticks) / phases.length);
      for (; tick < last; tick += 1) {
        const now = period.start + tick * TICK;
        if (clock.now() < now) clock.advance(now - clock.now());
        if (tick % 25 === 0) fake.update("invoices", Number(fake.all("invoices")[tick % 20]!.id), { note: `tick ${tick}` });
        const holding = holders();
        expect(holding.map((m) => m.id), `tick ${tick}: one replica holds the lease`).toEqual([phase.owner.id]);
        const member = holding[0]!;
        const app = member.app!;
        const entry = app.sources[0]!;
        const reconcile = new Date(now).getUTCMinutes() === 0;
        for (const mode of reconcile ? (["incremental", "reconcile"] as const) : (["incremental"] as const)) {
          const fence = app.replica!.fence(SOURCE)!;
          const outcomes = await withFence(fence, () => runSourcePass(app.passDeps({ paced: true }), entry.source, entry.config, mode));
          // A tick the budget's pacing skips returns no outcome; a spent budget, blocked ones.
          if (outcomes.length === 0 || outcomes.some((o) => o.blocked)) skippedByBudget += 1;
          else if (outcomes.every((o) => o.ok)) member.passes += 1;
          else failed.push(`tick ${tick} on ${member.id}: ${outcomes.find((o) => !o.ok)?.error ?? "?"}`);
        }
      }
    }
    const spent = fake.monthlyCount();
    const stored = await sql(url, `SELECT used FROM "${new URL(url).searchParams.get("schema")}".budgets WHERE source = $1`, [SOURCE]);
    if (process.env.RETROHOOK_TEST_STATS) console.log({ spent, stored, skippedByBudget, failed: failed.length, firstFailures: failed.slice(0, 5), passes: members.map((m) => `${m.id} ${m.passes}`) });

    expect(spent).toBeLessThanOrEqual(1500);
    expect(failed, "passes that failed").toEqual([]);
    // The budget was the limit: ticks were skipped for it, and it was (nearly) all used.
    expect(skippedByBudget).toBeGreaterThan(0);
    expect(spent).toBeGreaterThan(1200);
    // Every replica polled the source for part of the month.
    for (const member of members) expect(member.passes, `${member.id} ran passes`).toBeGreaterThan(50);
    // Every request the vendor saw is in the one shared count (none spent from a stale copy of it).
    expect(Number(stored[0]?.used)).toBe(spent);
  }, 300_000);
});
