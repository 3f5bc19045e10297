import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { PassOutcome } from "../../src/pipeline/poll-pass.js";
import { benchConfig, benchSource, benchTarget, type CursorMode } from "../config.js";
import type { Bench } from "../context.js";
import { distinctIds, round, seededRandom } from "../report.js";

/**
 * Scenarios 1, 2 and 6 and the naive script on 1 and 6: a first pass (baseline), a reconcile
 * with nothing changed, and incremental passes with a few changes in each cursor mode. The
 * retrohook side of each runs in a fresh process; its floor runs in another, just before it.
 */

interface MemoryPeak {
  rssMb: number;
  heapTotalMb: number;
  heapUsedMb: number;
  externalMb: number;
}

interface PassResult {
  ms: number;
  cpuMs: number;
  outcomes: PassOutcome[];
  pending: number;
  maxRssMb: number;
  memory: MemoryPeak;
}

interface FloorResult {
  ms: number;
  cpuMs: number;
  records: number;
  requests: number;
  maxRssMb: number;
  memory: MemoryPeak;
}

const breakdown = (m: MemoryPeak): string =>
  `at the sampled peak (${m.rssMb} MB): V8 heap ${m.heapTotalMb} MB (${m.heapUsedMb} used), external ${m.externalMb} MB, other (SQLite cache, code, stacks) ${m.rssMb - m.heapTotalMb - m.externalMb} MB`;

const DAY = 86_400_000;
/** Seed history: one record changed per minute, the newest a day ago (5 records in the overlap). */
const SPACING_MS = 60_000;

function removeState(file: string): void {
  for (const suffix of ["", "-wal", "-shm", ".lock"]) rmSync(`${file}${suffix}`, { force: true });
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`harness check failed: ${message}`);
}

function only(result: PassResult): PassOutcome {
  const outcome = result.outcomes[0];
  check(result.outcomes.length === 1 && outcome !== undefined, "one resource per pass");
  check(outcome!.ok, `pass failed: ${outcome!.error}`);
  return outcome!;
}

/** A run's wall time and CPU time, for the progress log. */
const seconds = (x: { ms: number; cpuMs: number }): string => `${(x.ms / 1000).toFixed(2)} s (cpu ${(x.cpuMs / 1000).toFixed(2)} s)`;

/** The run with the lowest `ms` (the least disturbed by anything else on the machine). */
const best = <T extends { ms: number }>(runs: T[]): T => runs.reduce((a, b) => (b.ms < a.ms ? b : a));

export async function passScenarios(bench: Bench): Promise<void> {
  const { sizes, apiUrl } = bench;
  const n = sizes.records;
  const label = n >= 1000 ? `${n / 1000}k` : String(n);
  await bench.fake.call("create", { name: "inv", count: n, pageSize: sizes.pageSize, newestAt: Date.now() - DAY, spacingMs: SPACING_MS });
  const listUrl = `${apiUrl}/d/inv/invoices`;
  const configFor = (file: string) =>
    benchConfig(file, [benchSource({ name: "inv", baseUrl: apiUrl, dataset: "inv", cursor: "param", pageSize: sizes.pageSize })], [benchTarget(bench.receiverUrl)]);

  // Each repetition: floor, first pass (scenario 2) into a new SQLite file, floor, reconcile
  // (scenario 1) of that file. The best of each is kept.
  const floors2: FloorResult[] = [];
  const baselines: PassResult[] = [];
  const floors1: FloorResult[] = [];
  const raws: FloorResult[] = [];
  const reconciles: PassResult[] = [];
  let state = "";
  for (let rep = 1; rep <= sizes.repetitions; rep += 1) {
    if (state) removeState(state);
    state = join(bench.dir, `inv-${rep}.sqlite`);
    const config = configFor(state);
    bench.log(`baseline-${label} (${rep}/${sizes.repetitions}): floor, then retrohook`);
    const floor2 = await bench.job<FloorResult>("floorFetch", { listUrl, pageSize: sizes.pageSize });
    check(floor2.records === n, `floor fetched ${floor2.records} of ${n} records`);
    floors2.push(floor2);
    const baseline = await bench.job<PassResult>("pass", { config, mode: "incremental" });
    const b = only(baseline);
    check(b.records === n && b.baselined === n && b.events === 0, `baseline saw ${b.records} records, baselined ${b.baselined}, ${b.events} events`);
    baselines.push(baseline);
    bench.log(`baseline-${label} (${rep}/${sizes.repetitions}): ${seconds(baseline)} against the floor's ${seconds(floor2)}`);

    bench.log(`reconcile-${label} (${rep}/${sizes.repetitions}): raw floor, floor, then retrohook`);
    const raw = await bench.job<FloorResult>("floorFetchRaw", { listUrl, pageSize: sizes.pageSize });
    check(raw.records === n, `raw floor fetched ${raw.records} of ${n} records`);
    raws.push(raw);
    floors1.push(await bench.job<FloorResult>("floorFetch", { listUrl, pageSize: sizes.pageSize }));
    const reconcile = await bench.job<PassResult>("pass", { config, mode: "reconcile" });
    const r = only(reconcile);
    check(r.records === n && r.events === 0 && r.deleted === 0 && (r.held ?? 0) === 0, `reconcile saw ${r.records} records, ${r.events} events, ${r.deleted} deleted`);
    reconciles.push(reconcile);
    bench.log(`reconcile-${label} (${rep}/${sizes.repetitions}): ${seconds(reconcile)} against the floor's ${seconds(floors1.at(-1)!)}`);
  }
  const runs = (list: Array<{ ms: number; cpuMs: number }>): string => list.map((x) => `${(x.ms / 1000).toFixed(2)} (cpu ${(x.cpuMs / 1000).toFixed(2)})`).join(", ");
  const baseline = best(baselines);
  const floor2 = best(floors2);
  bench.rows.push({
    scenario: `baseline-${label}`,
    figure: round(baseline.ms / 1000, 3),
    unit: "s",
    floor: round(floor2.ms / 1000, 3),
    ratio: round(baseline.ms / floor2.ms),
    target: "≤ 1.5× floor",
    met: baseline.ms <= 1.5 * floor2.ms,
    detail: `${n} records, ${floor2.requests} pages of ${sizes.pageSize}; best of ${sizes.repetitions} (runs ${runs(baselines)} s; floor ${runs(floors2)} s); peak RSS ${round(baseline.maxRssMb, 0)} MB`,
  });
  const reconcile = best(reconciles);
  const floor1 = best(floors1);
  bench.rows.push({
    scenario: `reconcile-${label}`,
    figure: round(reconcile.ms / 1000, 3),
    unit: "s",
    floor: round(floor1.ms / 1000, 3),
    ratio: round(reconcile.ms / floor1.ms),
    target: "≤ 1.5× floor",
    met: reconcile.ms <= 1.5 * floor1.ms,
    detail: `${n} records, no changes; best of ${sizes.repetitions} (runs ${runs(reconciles)} s; floor ${runs(floors1)} s)`,
  });
  const gotFloor = best([...floors1, ...floors2]);
  const rawFloor = best(raws);
  bench.rows.push({
    scenario: `floor: got vs raw node:http, list-${label}`,
    figure: round(gotFloor.ms / 1000, 3),
    unit: "s",
    floor: round(rawFloor.ms / 1000, 3),
    ratio: round(gotFloor.ms / rawFloor.ms),
    target: null,
    met: null,
    detail: `what the HTTP client costs: the got floor of reconcile and baseline (got 14, same agent and headers as the sources) against node:http alone + JSON.parse, ${n} records; best of ${sizes.repetitions} (raw ${runs(raws)} s)`,
  });
  const rss = Math.max(...reconciles.map((x) => x.maxRssMb));
  const floorRss = Math.max(...floors1.map((x) => x.maxRssMb));
  const peakRun = reconciles.find((x) => x.maxRssMb === rss)!;
  const floorPeakRun = floors1.find((x) => x.maxRssMb === floorRss)!;
  bench.rows.push({
    scenario: `reconcile-${label} peak RSS`,
    figure: round(rss, 1),
    unit: "MB",
    floor: round(floorRss, 1),
    ratio: round(rss / floorRss),
    target: "≤ 200 MB",
    met: rss <= 200,
    detail: `highest peak RSS of the processes doing the reconcile, ${breakdown(peakRun.memory)}; floor ${breakdown(floorPeakRun.memory)}`,
  });

  // The naive script on scenario 1 (and its requests per cycle for scenario 6).
  bench.log(`reconcile-${label}: naive script`);
  const naive = await bench.job<{ ms: number; requests: number; changes: number; maxRssMb: number }>("naiveReconcile", { listUrl, pageSize: sizes.pageSize, receiverUrl: bench.receiverUrl });
  check(naive.changes === 0, `naive script saw ${naive.changes} changes`);
  bench.rows.push({
    scenario: `naive: reconcile-${label}`,
    figure: round(naive.ms / 1000, 3),
    unit: "s",
    floor: round(floor1.ms / 1000, 3),
    ratio: round(naive.ms / floor1.ms),
    target: null,
    met: null,
    detail: `fetch all + compare in memory, no persistence; peak RSS ${round(naive.maxRssMb, 0)} MB`,
  });

  // Scenario 6: incremental passes with a few changes among n records, per cursor mode.
  await economy(bench, "param", { state, fullScan: floor1.requests });
  await economy(bench, "desc", { fullScan: floor1.requests });
  await economy(bench, "id", { fullScan: floor1.requests });
  bench.rows.push({
    scenario: `naive: economy`,
    figure: naive.requests,
    unit: "req",
    floor: null,
    ratio: null,
    target: null,
    met: null,
    detail: "list requests per resource per cycle (fetches everything)",
  });
}

const MODE_NAMES: Record<Exclude<CursorMode, "none">, string> = { param: "cursor parameter", desc: "order desc", id: "serial id" };

/**
 * One resource in `mode`: a baseline (reusing scenario 2's state for the parameter mode), then
 * `economyChanges` changes (updates; new records for serial ids), then one incremental pass.
 */
async function economy(bench: Bench, mode: Exclude<CursorMode, "none">, reuse: { state?: string; fullScan: number }): Promise<void> {
  const { sizes, apiUrl, fake } = bench;
  const n = sizes.records;
  const dataset = reuse.state ? "inv" : `eco-${mode}`;
  const state = join(bench.dir, `eco-${mode}.sqlite`);
  const config = (file: string) =>
    benchConfig(file, [benchSource({ name: dataset, baseUrl: apiUrl, dataset, cursor: mode, pageSize: sizes.pageSize })], [benchTarget(bench.receiverUrl)]);
  if (reuse.state) {
    copyFileSync(reuse.state, state);
  } else {
    bench.log(`economy (${MODE_NAMES[mode]}): baseline`);
    await fake.call("create", { name: dataset, count: n, pageSize: sizes.pageSize, newestAt: Date.now() - DAY, spacingMs: SPACING_MS });
    const baseline = await bench.job<PassResult>("pass", { config: config(state), mode: "incremental" });
    check(only(baseline).baselined === n, `${mode} baseline recorded ${only(baseline).baselined} of ${n}`);
  }
  const random = seededRandom(6);
  const changes = sizes.economyChanges;
  if (mode === "id") await fake.call("append", { name: dataset, count: changes });
  else await fake.call("update", { name: dataset, ids: distinctIds(random, changes, n) });
  await fake.call("resetStats", { name: dataset });
  bench.log(`economy (${MODE_NAMES[mode]}): incremental pass`);
  const pass = await bench.job<PassResult>("pass", { config: config(state), mode: "incremental" });
  const outcome = only(pass);
  const { listRequests } = await fake.call<{ listRequests: number }>("stats", { name: dataset });
  check(outcome.events >= changes, `${mode}: ${outcome.events} events for ${changes} changes`);
  bench.rows.push({
    scenario: `economy (${MODE_NAMES[mode]})`,
    figure: listRequests,
    unit: "req",
    floor: reuse.fullScan,
    ratio: round(listRequests / reuse.fullScan, 4),
    target: "≤ 2 req",
    met: listRequests <= 2,
    detail: `list requests per resource, ${changes} ${mode === "id" ? "new records" : "updates"} among ${n}; floor = pages of a complete listing; ${outcome.records} records listed, ${outcome.events} events`,
  });
  if (!reuse.state) await fake.call("drop", { name: dataset });
}
