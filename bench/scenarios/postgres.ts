import type { PassOutcome } from "../../src/pipeline/poll-pass.js";
import { startTestPostgres } from "../../test/helpers/postgres.js";
import { BENCH_SECRET, benchConfig, benchSource, benchTarget, TARGET_CONCURRENCY } from "../config.js";
import type { Bench } from "../context.js";
import { round } from "../report.js";

/**
 * The pass scenarios with the state on PostgreSQL (an embedded server on 127.0.0.1, started
 * for the run with PostgreSQL's default durability): a baseline and a reconcile of the same
 * records, each against the got floor measured just before it in the same run, as for SQLite;
 * then scenario 3 (deliver) with its outbox on PostgreSQL against the same POST floor.
 */
interface PassResult {
  ms: number;
  cpuMs: number;
  outcomes: PassOutcome[];
  maxRssMb: number;
}

interface FloorResult {
  ms: number;
  cpuMs: number;
  records: number;
  requests: number;
}

const DAY = 86_400_000;

export async function postgresScenario(bench: Bench): Promise<void> {
  const { sizes, apiUrl } = bench;
  const n = sizes.records;
  const label = n >= 1000 ? `${n / 1000}k` : String(n);
  const server = await startTestPostgres({ durable: true });
  try {
    await bench.fake.call("create", { name: "pginv", count: n, pageSize: sizes.pageSize, newestAt: Date.now() - DAY, spacingMs: 60_000 });
    const listUrl = `${apiUrl}/d/pginv/invoices`;
    const baselines: Array<{ run: PassResult; floor: FloorResult }> = [];
    const reconciles: Array<{ run: PassResult; floor: FloorResult }> = [];
    for (let rep = 1; rep <= sizes.repetitions; rep += 1) {
      const config = benchConfig(server.freshUrl(), [benchSource({ name: "pginv", baseUrl: apiUrl, dataset: "pginv", cursor: "param", pageSize: sizes.pageSize })], [benchTarget(bench.receiverUrl)]);
      for (const [mode, list] of [["incremental", baselines], ["reconcile", reconciles]] as const) {
        const floor = await bench.job<FloorResult>("floorFetch", { listUrl, pageSize: sizes.pageSize });
        const run = await bench.job<PassResult>("pass", { config, mode });
        const outcome = run.outcomes[0];
        if (!outcome?.ok || outcome.records !== n || outcome.events !== 0) throw new Error(`harness check failed: PostgreSQL ${mode} pass: ${JSON.stringify(outcome)}`);
        list.push({ run, floor });
        bench.log(`${mode === "incremental" ? "baseline" : "reconcile"}-${label} on PostgreSQL (${rep}/${sizes.repetitions}): ${(run.ms / 1000).toFixed(2)} s (cpu ${(run.cpuMs / 1000).toFixed(2)} s) against the floor's ${(floor.ms / 1000).toFixed(2)} s (cpu ${(floor.cpuMs / 1000).toFixed(2)} s)`);
      }
    }
    for (const [name, list, target] of [["baseline", baselines, 2.0], ["reconcile", reconciles, 1.5]] as const) {
      const best = list.reduce((a, b) => (b.run.ms / b.floor.ms < a.run.ms / a.floor.ms ? b : a));
      bench.rows.push({
        scenario: `${name}-${label} (PostgreSQL)`,
        figure: round(best.run.ms / 1000, 3),
        unit: "s",
        floor: round(best.floor.ms / 1000, 3),
        ratio: round(best.run.ms / best.floor.ms),
        target: `≤ ${target.toFixed(1)}× floor`,
        met: best.run.ms <= target * best.floor.ms,
        detail: `${n} records, state on PostgreSQL 17 (embedded, 127.0.0.1); best ratio of ${sizes.repetitions} (runs ${list.map((x) => (x.run.ms / 1000).toFixed(2)).join(", ")} s; floors ${list.map((x) => (x.floor.ms / 1000).toFixed(2)).join(", ")} s); peak RSS ${round(best.run.maxRssMb, 0)} MB`,
      });
    }
    await bench.fake.call("drop", { name: "pginv" });
    await deliverOnPostgres(bench, server.freshUrl);
  } finally {
    await server.stop();
  }
}

interface ReceiverStats {
  count: number;
  verified: number;
  badSignatures: number;
  unsigned: number;
}

/** Scenario 3 on PostgreSQL: each repetition queues the events into a fresh schema (a backfill pass), then the floor and the dispatcher deliver them. */
async function deliverOnPostgres(bench: Bench, freshUrl: () => string): Promise<void> {
  const { sizes, receiver } = bench;
  const n = sizes.deliveries;
  const label = n >= 1000 ? `${n / 1000}k` : String(n);
  await bench.fake.call("create", { name: "pgdlv", count: n, pageSize: sizes.pageSize, newestAt: Date.now() - DAY, spacingMs: 60_000 });
  const runs: Array<{ ms: number; cpuMs: number; maxRssMb: number; verified: number }> = [];
  const floors: Array<{ ms: number; cpuMs: number }> = [];
  for (let rep = 1; rep <= sizes.repetitions; rep += 1) {
    const url = freshUrl();
    const config = benchConfig(url, [benchSource({ name: "pgdlv", baseUrl: bench.apiUrl, dataset: "pgdlv", cursor: "param", pageSize: sizes.pageSize, start: { mode: "backfill" } })], [benchTarget(bench.receiverUrl)]);
    const queued = await bench.job<{ pending: number }>("pass", { config, mode: "incremental" });
    if (queued.pending !== n) throw new Error(`harness check failed: PostgreSQL deliver: ${queued.pending} queued, expected ${n}`);
    await receiver.call("reset", {});
    const floor = await bench.job<{ ms: number; cpuMs: number; count: number }>("floorDeliver", { stateUrl: url, url: bench.receiverUrl, concurrency: TARGET_CONCURRENCY });
    if (floor.count !== n || (await receiver.call<ReceiverStats>("stats")).count !== n) throw new Error(`harness check failed: PostgreSQL deliver floor posted ${floor.count} of ${n}`);
    floors.push(floor);
    await receiver.call("reset", { secret: BENCH_SECRET, verifyEvery: 50 });
    const run = await bench.job<{ ms: number; cpuMs: number; expected: number; left: number; dead: number; maxRssMb: number }>("deliver", { config });
    const got = await receiver.call<ReceiverStats>("stats");
    if (run.expected !== n || run.left !== 0 || run.dead !== 0 || got.count !== n || got.badSignatures !== 0 || got.unsigned !== 0 || got.verified === 0) {
      throw new Error(`harness check failed: PostgreSQL deliver: ${run.expected} pending at start, ${run.left} left, ${run.dead} dead; receiver got ${got.count} (${got.verified} verified, ${got.badSignatures} bad, ${got.unsigned} unsigned)`);
    }
    runs.push({ ...run, verified: got.verified });
    bench.log(`deliver-${label} on PostgreSQL (${rep}/${sizes.repetitions}): ${Math.round((n * 1000) / run.ms)} ev/s (cpu ${(run.cpuMs / 1000).toFixed(2)} s) against the floor's ${Math.round((n * 1000) / floor.ms)} ev/s`);
  }
  await bench.fake.call("drop", { name: "pgdlv" });
  const run = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  const floor = floors.reduce((a, b) => (b.ms < a.ms ? b : a));
  const rate = (n * 1000) / run.ms;
  const floorRate = (n * 1000) / floor.ms;
  const rates = (list: Array<{ ms: number; cpuMs: number }>): string => list.map((x) => `${Math.round((n * 1000) / x.ms)} (cpu ${(x.cpuMs / 1000).toFixed(2)} s)`).join(", ");
  bench.rows.push({
    scenario: `deliver-${label} (PostgreSQL)`,
    figure: round(rate, 0),
    unit: "ev/s",
    floor: round(floorRate, 0),
    ratio: round(rate / floorRate),
    target: "≥ 1000 ev/s",
    met: rate >= 1000,
    detail: `${n} events, outbox on PostgreSQL 17 (embedded, 127.0.0.1), concurrency ${TARGET_CONCURRENCY}, signed + acked; best of ${sizes.repetitions} (${rates(runs)} ev/s; floor ${rates(floors)} ev/s); peak RSS ${round(run.maxRssMb, 0)} MB; ${run.verified} signatures verified by the receiver`,
  });
}
