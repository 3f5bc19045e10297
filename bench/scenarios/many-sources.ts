import { join } from "node:path";
import { benchConfig, benchSource, benchTarget, NEVER, OVERLAP_MS } from "../config.js";
import type { Bench } from "../context.js";
import type { PassNote } from "../daemon-child.js";
import { round } from "../report.js";

/**
 * Scenario 5: the daemon with `manySources` sources (one resource each, 20 records of which 6
 * fall in the overlap window, so every pass lists and compares them) on one schedule, for
 * `manyDurationMs`. A tick is missed when no pass of that source started within 1 s of it;
 * two passes of a source overlap when one starts before the other ended. CPU is the mean over
 * the window (from Scheduler.start, the first passes included), RSS the process's peak. Floor: bare timers doing the same
 * GETs with one keep-alive agent per source.
 */

export const RECORDS = 20;
export const SPACING_MS = 60_000;
export const TOLERANCE_MS = 1_000;

export interface Usage {
  cpuMs: number;
  wallMs: number;
  maxRssMb: number;
  peak: { rssMb: number; heapTotalMb: number; heapUsedMb: number; externalMb: number };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Ticks of a seconds-period cron in (from, to]. */
export function ticksBetween(periodMs: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(from / periodMs) * periodMs + periodMs; t <= to; t += periodMs) out.push(t);
  return out;
}

export function missedTicks(startsBySource: number[][], ticks: number[]): number {
  let missed = 0;
  for (const starts of startsBySource) {
    for (const tick of ticks) if (!starts.some((s) => s >= tick && s < tick + TOLERANCE_MS)) missed += 1;
  }
  return missed;
}

/** Passes by source, in start order, and how many started before the previous pass of their source ended. */
export function passesBySource(names: string[], passes: PassNote[]): { bySource: Map<string, PassNote[]>; overlaps: number } {
  const bySource = new Map<string, PassNote[]>(names.map((name) => [name, []]));
  for (const pass of passes) bySource.get(pass.source)?.push(pass);
  let overlaps = 0;
  for (const list of bySource.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i += 1) if (list[i]!.start < list[i - 1]!.start + list[i - 1]!.ms) overlaps += 1;
  }
  return { bySource, overlaps };
}

export async function manySourcesScenario(bench: Bench): Promise<void> {
  const { sizes } = bench;
  const count = sizes.manySources;
  const newest = Date.now() - 3_600_000;
  await bench.fake.call("create", { name: "small", count: RECORDS, pageSize: sizes.pageSize, newestAt: newest, spacingMs: SPACING_MS });
  const periodS = sizes.manyPeriodMs / 1000;
  const sources = Array.from({ length: count }, (_, i) =>
    benchSource({
      name: `s${String(i + 1).padStart(4, "0")}`,
      baseUrl: bench.apiUrl,
      dataset: "small",
      cursor: "param",
      pageSize: sizes.pageSize,
      schedule: `*/${periodS} * * * * *`,
      reconcile: NEVER,
    }),
  );
  const config = benchConfig(join(bench.dir, "many.sqlite"), sources, [benchTarget(bench.receiverUrl)]);

  bench.log(`many-sources: ${count} sources every ${periodS} s for ${sizes.manyDurationMs / 1000} s`);
  const daemon = await bench.daemon("many-sources");
  let passes: PassNote[];
  let before: Usage & { startedAt: number };
  let after: Usage;
  try {
    // Start just after a tick, as an operator would at any moment; the window is what follows.
    const nextTick = Math.ceil(Date.now() / sizes.manyPeriodMs) * sizes.manyPeriodMs;
    await sleep(nextTick + 300 - Date.now());
    before = await daemon.call("start", { config });
    // Long enough for the window's last tick to be seen starting (or not) within the tolerance.
    await sleep(before.startedAt + sizes.manyDurationMs + TOLERANCE_MS + 500 - Date.now());
    after = await daemon.call<Usage>("usage");
    passes = await daemon.call<PassNote[]>("passes");
    if (process.env.BENCH_HEAP_SNAPSHOT) bench.log(`heap snapshot: ${await daemon.call<string>("heapSnapshot", { dir: process.env.BENCH_HEAP_SNAPSHOT })}`);
    await daemon.call("stop");
  } finally {
    await daemon.stop();
  }
  const end = before.startedAt + sizes.manyDurationMs;
  const failed = passes.filter((p) => !p.ok);
  if (failed.length > 0) throw new Error(`harness check failed: ${failed.length} passes failed, e.g. ${failed[0]!.error}`);
  const { bySource, overlaps } = passesBySource(sources.map((s) => s.name), passes);
  const ticks = ticksBetween(sizes.manyPeriodMs, before.startedAt, end);
  const missed = missedTicks([...bySource.values()].map((list) => list.map((p) => p.start)), ticks);
  const lateness = passes.filter((p) => p.start > before.startedAt + 5).map((p) => p.start % sizes.manyPeriodMs);
  const cpu = (100 * (after.cpuMs - before.cpuMs)) / (after.wallMs - before.wallMs);
  const meanPassMs = passes.reduce((n, p) => n + p.ms, 0) / Math.max(1, passes.length);

  bench.log("many-sources: floor (bare timers)");
  const floor = await bench.job<{ cpuPercent: number; maxRssMb: number; starts: number[][]; first: number; until: number }>("floorMany", {
    listUrl: `${bench.apiUrl}/d/small/invoices`,
    sources: count,
    periodMs: sizes.manyPeriodMs,
    durationMs: sizes.manyFloorDurationMs,
    overlapMs: OVERLAP_MS,
    cursor: newest,
  });
  const floorMissed = missedTicks(floor.starts, ticksBetween(sizes.manyPeriodMs, floor.first - 1, floor.until));

  bench.rows.push({
    scenario: "many-sources missed+overlap",
    figure: missed + overlaps,
    unit: "passes",
    floor: floorMissed,
    ratio: null,
    target: "0 missed, 0 overlapping",
    met: missed === 0 && overlaps === 0,
    detail: `${count} sources × ${ticks.length} ticks: ${missed} missed, ${overlaps} overlapping; ${passes.length} passes, mean ${round(meanPassMs, 1)} ms, latest start ${Math.max(0, ...lateness)} ms after its tick`,
  });
  bench.rows.push({
    scenario: "many-sources CPU",
    figure: round(cpu, 1),
    unit: "%",
    floor: round(floor.cpuPercent, 1),
    ratio: round(cpu / floor.cpuPercent),
    target: "≤ 40 % of a core",
    met: cpu <= 40,
    detail: `mean over ${sizes.manyDurationMs / 1000} s from Scheduler.start (first passes included); floor over ${sizes.manyFloorDurationMs / 1000} s`,
  });
  bench.rows.push({
    scenario: "many-sources RSS",
    figure: round(after.maxRssMb, 1),
    unit: "MB",
    floor: round(floor.maxRssMb, 1),
    ratio: round(after.maxRssMb / floor.maxRssMb),
    target: "≤ 300 MB",
    met: after.maxRssMb <= 300,
    detail: `peak RSS of the daemon process; at the sampled peak (${after.peak.rssMb} MB): V8 heap ${after.peak.heapTotalMb} MB (${after.peak.heapUsedMb} used), external ${after.peak.externalMb} MB, other ${after.peak.rssMb - after.peak.heapTotalMb - after.peak.externalMb} MB`,
  });
}
