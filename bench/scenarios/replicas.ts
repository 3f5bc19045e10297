import pg from "pg";
import { startTestPostgres, type TestPostgres } from "../../test/helpers/postgres.js";
import { benchConfig, benchSource, benchTarget, NEVER } from "../config.js";
import type { Bench } from "../context.js";
import type { PassNote } from "../daemon-child.js";
import type { Child } from "../rpc.js";
import { round } from "../report.js";
import { missedTicks, passesBySource, RECORDS, sleep, SPACING_MS, TOLERANCE_MS, ticksBetween, type Usage } from "./many-sources.js";

/** How long after the window the passes of its last tick may take to end and be reported. */
const LAST_PASSES_MS = 10_000;

/**
 * Scenario 6: many sources on 1 replica, then on 3 replicas of one PostgreSQL state (`cluster`,
 * leases spread by rendezvous hashing). Each run starts its replicas, waits until every source
 * is leased and the first passes are done (the steady state), then measures a window of
 * `replicaDurationMs` from just after a tick: missed ticks and overlapping passes over the
 * passes of all replicas together, the CPU of each replica, and the database connections of
 * the whole cluster (pg_stat_activity, sampled every 250 ms). Target: with 3 replicas, no
 * missed tick, no overlap, and each replica's CPU ≤ 40 % of what the one replica used alone.
 */

const LEASE = 30_000;

interface ClusterRun {
  replicas: number;
  passes: PassNote[];
  /** CPU % of each replica over the window. */
  cpu: number[];
  maxRssMb: number[];
  peakConnections: number;
  ticks: number;
  missed: number;
  overlaps: number;
  /** Lease holders at the window's start (sources per replica). */
  spread: number[];
}

export async function replicasScenario(bench: Bench): Promise<void> {
  const { sizes } = bench;
  const server = await startTestPostgres();
  try {
    await bench.fake.call("create", { name: "spread", count: RECORDS, pageSize: sizes.pageSize, newestAt: Date.now() - 3_600_000, spacingMs: SPACING_MS });
    const one = await clusterRun(bench, server, 1);
    const three = await clusterRun(bench, server, 3);
    const periodS = sizes.replicaPeriodMs / 1000;
    const topCpu = Math.max(...three.cpu);
    const perConnectionBound = 3 * 12;
    bench.rows.push({
      scenario: "many-sources ×3 replicas missed+overlap",
      figure: three.missed + three.overlaps,
      unit: "passes",
      floor: one.missed + one.overlaps,
      ratio: null,
      target: "0 missed, 0 overlapping",
      met: three.missed === 0 && three.overlaps === 0,
      detail: `${sizes.replicaSources} sources every ${periodS} s on 3 replicas (lease ${LEASE / 1000} s; sources held ${three.spread.join("/")}) × ${three.ticks} ticks: ${three.missed} missed, ${three.overlaps} overlapping, ${three.passes.length} passes; 1 replica alone: ${one.missed} missed, ${one.overlaps} overlapping, ${one.passes.length} passes`,
    });
    bench.rows.push({
      scenario: "many-sources ×3 replicas CPU per replica",
      figure: round(topCpu, 1),
      unit: "%",
      floor: round(one.cpu[0]!, 1),
      ratio: round(topCpu / one.cpu[0]!),
      target: "≤ 0.40× one replica alone",
      met: topCpu <= 0.4 * one.cpu[0]!,
      detail: `busiest of 3 replicas (each: ${three.cpu.map((c) => `${round(c, 1)} %`).join(", ")}) against 1 replica with every source (${round(one.cpu[0]!, 1)} %), mean over ${sizes.replicaDurationMs / 1000} s in the steady state; peak RSS ${three.maxRssMb.map((m) => round(m, 0)).join("/")} MB against ${round(one.maxRssMb[0]!, 0)} MB`,
    });
    bench.rows.push({
      scenario: "many-sources ×3 replicas DB connections",
      figure: three.peakConnections,
      unit: "conns",
      floor: one.peakConnections,
      ratio: null,
      target: `≤ ${perConnectionBound} (3 × (pool 10 + 2))`,
      met: three.peakConnections <= perConnectionBound,
      detail: `peak connections of the whole cluster to PostgreSQL (pg_stat_activity every 250 ms, the sampler's own excluded); 1 replica: ${one.peakConnections}`,
    });
  } finally {
    await bench.fake.call("drop", { name: "spread" }).catch(() => undefined);
    await server.stop();
  }
}

async function clusterRun(bench: Bench, server: TestPostgres, replicas: number): Promise<ClusterRun> {
  const { sizes } = bench;
  const count = sizes.replicaSources;
  const periodS = sizes.replicaPeriodMs / 1000;
  const stateUrl = server.freshUrl();
  const schema = new URL(stateUrl).searchParams.get("schema")!;
  const sources = Array.from({ length: count }, (_, i) =>
    benchSource({ name: `s${String(i + 1).padStart(4, "0")}`, baseUrl: bench.apiUrl, dataset: "spread", cursor: "param", pageSize: sizes.pageSize, schedule: `*/${periodS} * * * * *`, reconcile: NEVER }),
  );
  const config = { ...benchConfig(stateUrl, sources, [benchTarget(bench.receiverUrl)]), cluster: { lease: LEASE } };
  bench.log(`replicas: ${count} sources every ${periodS} s on ${replicas} replica(s)`);
  const children: Child[] = [];
  const sampler = new pg.Client({ connectionString: server.url });
  await sampler.connect();
  try {
    for (let i = 1; i <= replicas; i += 1) children.push(await bench.daemon(`replica-${replicas}x-${i}`));
    await Promise.all(children.map((child, i) => child.call("start", { config, replicaId: `bench-${replicas}x-${i + 1}` })));
    // The steady state: every source leased, spread over the replicas, and polled once.
    const spreadNow = async (): Promise<number[]> => {
      const rows = (await sampler.query(`SELECT owner, count(*)::int AS n FROM "${schema}".leases WHERE expires_at > now() AND source <> '*' GROUP BY owner ORDER BY owner`)).rows as Array<{ n: number }>;
      return rows.map((r) => r.n);
    };
    const settled = Date.now();
    for (;;) {
      const spread = await spreadNow();
      const total = spread.reduce((a, b) => a + b, 0);
      const polled = (await Promise.all(children.map((c) => c.call<number>("passCount")))).reduce((a, b) => a + b, 0);
      if (spread.length === replicas && total === count && polled >= count) break;
      if (Date.now() - settled > 10 * LEASE) throw new Error(`harness check failed: after ${10 * LEASE / 1000} s the ${count} sources are leased ${spread.join("/")} over ${replicas} replicas, ${polled} passes`);
      await sleep(500);
    }
    const spread = await spreadNow();
    // The window starts just after a tick, after one whole period with every lease in place.
    const nextTick = Math.ceil((Date.now() + sizes.replicaPeriodMs) / sizes.replicaPeriodMs) * sizes.replicaPeriodMs;
    await sleep(nextTick + 300 - Date.now());
    const before = await Promise.all(children.map((c) => c.call<Usage>("usage")));
    const windowStart = Date.now();
    let peakConnections = 0;
    const end = windowStart + sizes.replicaDurationMs;
    while (Date.now() < end + TOLERANCE_MS + 500) {
      const n = Number((await sampler.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).rows[0].n);
      peakConnections = Math.max(peakConnections, n);
      await sleep(250);
    }
    const after = await Promise.all(children.map((c) => c.call<Usage>("usage")));
    // A pass is reported when it ends: wait for the passes of the window's last tick to end, or
    // every source's last tick counts as missed (3,000 "missed" on 1 and on 3 replicas alike).
    await sleep(LAST_PASSES_MS);
    const passes = (await Promise.all(children.map((c) => c.call<PassNote[]>("passes")))).flat().filter((p) => p.start >= windowStart - 5 && p.start < end + TOLERANCE_MS);
    for (const child of children) await child.call("stop");
    const failed = passes.filter((p) => !p.ok);
    if (failed.length > 0) throw new Error(`harness check failed: ${failed.length} passes failed, e.g. ${failed[0]!.error}`);
    const { bySource, overlaps } = passesBySource(sources.map((s) => s.name), passes);
    const ticks = ticksBetween(sizes.replicaPeriodMs, windowStart, end);
    const missed = missedTicks([...bySource.values()].map((list) => list.map((p) => p.start)), ticks);
    const cpu = children.map((_, i) => (100 * (after[i]!.cpuMs - before[i]!.cpuMs)) / (after[i]!.wallMs - before[i]!.wallMs));
    bench.log(`replicas: ${replicas} replica(s): CPU ${cpu.map((c) => round(c, 1)).join("/")} %, ${missed} missed, ${overlaps} overlapping, ${passes.length} passes, peak ${peakConnections} connections`);
    return { replicas, passes, cpu, maxRssMb: after.map((a) => a.maxRssMb), peakConnections, ticks: ticks.length, missed, overlaps, spread };
  } finally {
    for (const child of children) await child.stop();
    await sampler.end().catch(() => undefined);
  }
}
