import { join } from "node:path";
import type { PassOutcome } from "../../src/pipeline/poll-pass.js";
import { startTestPostgres } from "../../test/helpers/postgres.js";
import { benchConfig, benchSource, benchTarget } from "../config.js";
import type { Bench } from "../context.js";
import { round } from "../report.js";

/**
 * The `scale` scenario, run on request only (`npm run bench -- --only=scale`): a reconcile over
 * ten times the records of reconcile-100k (1,000,000; 20,000 with `--quick`) on each backend,
 * against the same run's reconcile over a tenth of them. Each size gets its baseline first (a
 * fresh state), then the timed reconcile in a fresh process, whose peak RSS is the figure.
 */
interface PassResult {
  ms: number;
  cpuMs: number;
  outcomes: PassOutcome[];
  maxRssMb: number;
}

const DAY = 86_400_000;
/** Targets of the issue: time ≤ 11× the same run's 100k figure, peak RSS ≤ 250 MB. */
const TIME_FACTOR = 11;
const RSS_MB = 250;

const labelOf = (n: number): string => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

export async function scaleScenario(bench: Bench): Promise<void> {
  const big = bench.quick ? 20_000 : 1_000_000;
  const small = big / 10;
  const server = await startTestPostgres({ durable: true });
  try {
    const backends: Array<{ name: string; state: (size: number) => string }> = [
      { name: "SQLite", state: (size) => join(bench.dir, `scale-${size}.sqlite`) },
      { name: "PostgreSQL", state: () => server.freshUrl() },
    ];
    for (const size of [small, big]) {
      bench.log(`scale: serving ${size} records`);
      await bench.fake.call("create", { name: `scale${size}`, count: size, pageSize: bench.sizes.pageSize, newestAt: Date.now() - DAY, spacingMs: 1_000 });
    }
    for (const backend of backends) {
      const reconciles = new Map<number, PassResult>();
      for (const size of [small, big]) {
        const dataset = `scale${size}`;
        const config = benchConfig(backend.state(size), [benchSource({ name: dataset, baseUrl: bench.apiUrl, dataset, cursor: "param", pageSize: bench.sizes.pageSize })], [benchTarget(bench.receiverUrl)]);
        const baseline = await bench.job<PassResult>("pass", { config, mode: "incremental" });
        check(baseline, size, "baseline");
        bench.log(`scale: baseline-${labelOf(size)} on ${backend.name}: ${(baseline.ms / 1000).toFixed(1)} s (cpu ${(baseline.cpuMs / 1000).toFixed(1)} s), peak RSS ${round(baseline.maxRssMb, 0)} MB`);
        const reconcile = await bench.job<PassResult>("pass", { config, mode: "reconcile" });
        check(reconcile, size, "reconcile");
        bench.log(`scale: reconcile-${labelOf(size)} on ${backend.name}: ${(reconcile.ms / 1000).toFixed(1)} s (cpu ${(reconcile.cpuMs / 1000).toFixed(1)} s), peak RSS ${round(reconcile.maxRssMb, 0)} MB`);
        reconciles.set(size, reconcile);
      }
      const one = reconciles.get(big)!;
      const tenth = reconciles.get(small)!;
      const suffix = backend.name === "SQLite" ? "" : ` (${backend.name})`;
      bench.rows.push({
        scenario: `scale: reconcile-${labelOf(big)}${suffix}`,
        figure: round(one.ms / 1000, 2),
        unit: "s",
        floor: round(tenth.ms / 1000, 3),
        ratio: round(one.ms / tenth.ms),
        target: `≤ ${TIME_FACTOR}× reconcile-${labelOf(small)}`,
        met: one.ms <= TIME_FACTOR * tenth.ms,
        detail: `${big} records, no changes, state on ${backend.name}; "floor" is the same run's reconcile of ${small} records (cpu ${(one.cpuMs / 1000).toFixed(1)} s against ${(tenth.cpuMs / 1000).toFixed(1)} s)`,
      });
      bench.rows.push({
        scenario: `scale: reconcile-${labelOf(big)} peak RSS${suffix}`,
        figure: round(one.maxRssMb, 1),
        unit: "MB",
        floor: round(tenth.maxRssMb, 1),
        ratio: round(one.maxRssMb / tenth.maxRssMb),
        target: `≤ ${RSS_MB} MB`,
        met: one.maxRssMb <= RSS_MB,
        detail: `peak RSS of the process doing the reconcile of ${big} records on ${backend.name}; "floor" is the reconcile of ${small}`,
      });
    }
    for (const size of [small, big]) await bench.fake.call("drop", { name: `scale${size}` });
  } finally {
    await server.stop();
  }
}

function check(run: PassResult, size: number, what: string): void {
  const outcome = run.outcomes[0];
  if (!outcome?.ok || outcome.records !== size || outcome.events !== 0) throw new Error(`harness check failed: scale ${what} of ${size}: ${JSON.stringify(outcome)}`);
}
