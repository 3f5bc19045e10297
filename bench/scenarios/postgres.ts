import type { PassOutcome } from "../../src/pipeline/poll-pass.js";
import { startTestPostgres } from "../../test/helpers/postgres.js";
import { benchConfig, benchSource, benchTarget } from "../config.js";
import type { Bench } from "../context.js";
import { round } from "../report.js";

/**
 * The pass scenarios with the state on PostgreSQL (an embedded server on 127.0.0.1, started
 * for the run): a baseline and a reconcile of the same records, each against the got floor
 * measured just before it in the same run, as for SQLite.
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
        bench.log(`${mode === "incremental" ? "baseline" : "reconcile"}-${label} on PostgreSQL (${rep}/${sizes.repetitions}): ${(run.ms / 1000).toFixed(2)} s against the floor's ${(floor.ms / 1000).toFixed(2)} s`);
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
  } finally {
    await server.stop();
  }
}
