import { statSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { startFakeRest } from "../../helpers/fake-rest.js";
import { startReceiver } from "../../helpers/receiver.js";
import { killLeftover, serverUrl, sleep, spawnCli, stopCli, waitUntil, type CliProcess } from "../lib/cli.js";
import { restSource, target, writeConfig } from "../lib/config.js";
import { AdminClient } from "../lib/admin.js";
import { Ledger, seededRandom, type DeliveryFigures } from "../lib/ledger.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SECRETS } from "../lib/secrets.js";

/**
 * Soak: the daemon under a steady high change rate for `durationMs` (1 hour in the full run)
 * with `state.retention` short (10 minutes in the full run). RSS is sampled every 5 s from
 * /proc; the figure compares the end with the sample after `baselineMs` (the first minute).
 * The state's size (the bytes of every kind, from GET /api/state) is sampled too: over the
 * last `levelWindowMs` (30 minutes in the full run) it must grow less than 5 %. The daemon's
 * longest retention step (the most pruning ever held the event loop at once) must stay under
 * 100 ms, and so must the lateness of every pass tick that fell due while a step ran (the daemon
 * measures each cron tick against when it was due: the delay pruning caused, measured). Then the changes stop and everything
 * must be delivered.
 */

export interface SoakOptions {
  durationMs: number;
  baselineMs: number;
  /** Changes per second. */
  rate: number;
  /** Reconcile cron (default every 10 s). */
  reconcile?: string;
  /** `state.retention` for events, the delivery log and dead letters (e.g. "10m"); none: the defaults. */
  retention?: string;
  /** How often the daemon sweeps (RETROHOOK_RETENTION_EVERY_MS; default 1 min). */
  sweepEveryMs?: number;
  /** The window at the end over which the state size must level off (default: half the run). */
  levelWindowMs?: number;
  scratch: Scratch;
  log: Logger;
}

export interface SoakResult {
  durationMs: number;
  changes: number;
  figures: DeliveryFigures;
  rssBaselineKb: number;
  rssEndKb: number;
  rssMaxKb: number;
  growth: number;
  /** RSS over the level window (means of its first and last sixths), judged against +20 %. */
  rssLevel: { growth: number; from: number; to: number };
  stateBytes: number;
  cleanExit: boolean;
  samples: Array<[number, number]>;
  /** [ms since start, bytes of state (all kinds), bytes of the file] from GET /api/state. */
  sizes: Array<[number, number, number]>;
  /** Growth of the state's bytes over the last `levelWindowMs`: the mean of its last sixth against the mean of its first sixth. */
  sizeGrowth: number;
  sizeFrom: number;
  sizeTo: number;
  levelWindowMs: number;
  /** The longest single retention step the daemon measured (ms, holding the event loop; and with waits), its sweeps and what they removed. */
  maxStepMs: number;
  maxStepWallMs: number;
  longestStep: string;
  sweeps: number;
  pruned: number;
  retention: string | undefined;
  /** Pass ticks the daemon measured: how late they ran, all and those due during a pruning step. */
  ticks: { count: number; maxLateMs: number; duringSteps: number; maxLateDuringStepMs: number } | null;
  /** The highest 1-minute load average sampled during the run. */
  maxLoad: number;
}

export async function soak(options: SoakOptions): Promise<SoakResult> {
  const random = seededRandom(4242);
  const api = await startFakeRest({ token: SECRETS.restToken });
  const receiver = await startReceiver();
  api.seed(400, 1000);
  const ledger = new Ledger(api);
  ledger.baseline();
  const dir = options.scratch.dir("soak");
  const config = writeConfig(dir, {
    ...(options.retention ? { state: { url: "sqlite://./state/state.sqlite", retention: { events: options.retention, delivery_log: options.retention, dead_letters: options.retention } } } : {}),
    sources: [restSource(api.url, { schedule: "*/1 * * * * *", reconcile: options.reconcile ?? "*/10 * * * * *" }, { pagination: { style: "page", page_param: "page", size_param: "per_page", size: 100 } })],
    targets: [target(receiver.url, { concurrency: 8 })],
  });
  let daemon: CliProcess | undefined;
  const samples: Array<[number, number]> = [];
  const loads: number[] = [loadavg()[0]!];
  const sizes: Array<[number, number, number]> = [];
  let sweeps: StateAnswer["sweeps"] = null;
  try {
    daemon = spawnCli(["run", "-c", config], { label: "soak daemon", ...(options.sweepEveryMs ? { env: { RETROHOOK_RETENTION_EVERY_MS: String(options.sweepEveryMs) } } : {}) });
    const admin = new AdminClient(await serverUrl(daemon), SECRETS.adminToken);
    const readState = async (at: number): Promise<void> => {
      const answer = await admin.json<StateAnswer>("GET", "/api/state").catch(() => undefined);
      if (!answer) return;
      sizes.push([at, Object.values(answer.sizes.kinds).reduce((n, kind) => n + kind.bytes, 0), answer.sizes.fileBytes]);
      sweeps = answer.sweeps;
    };
    await sleep(1000);
    const started = Date.now();
    let nextSample = started;
    let nextLog = started + 60_000;
    while (Date.now() - started < options.durationMs && !daemon.exited()) {
      const due = Math.floor(((Date.now() - started) / 1000) * options.rate) - ledger.changes;
      for (let i = 0; i < due; i += 1) ledger.randomChange(random, 500);
      if (Date.now() >= nextSample) {
        const rss = daemon.rssKb();
        if (rss !== undefined) samples.push([Date.now() - started, rss]);
        loads.push(loadavg()[0]!);
        await readState(Date.now() - started);
        nextSample += 5000;
      }
      if (Date.now() >= nextLog) {
        const size = sizes[sizes.length - 1];
        options.log(`soak: ${Math.round((Date.now() - started) / 60_000)} min, ${ledger.changes} changes, ${receiver.requests.length} deliveries, RSS ${Math.round((samples[samples.length - 1]?.[1] ?? 0) / 1024)} MiB${size ? `, state ${(size[1] / 1048576).toFixed(2)} MiB (file ${(size[2] / 1048576).toFixed(2)} MiB)` : ""}`);
        nextLog += 60_000;
      }
      await sleep(50);
    }
    const end = daemon.rssKb() ?? 0;
    samples.push([Date.now() - started, end]);
    await readState(Date.now() - started);
    await waitUntil(() => ledger.verify(receiver.requests, SECRETS.webhookSecret).lost === 0, 120_000, "the soak's changes delivered", 500).catch(() => undefined);
    await sleep(1000);
    const exit = await stopCli(daemon);
    const baseline = samples.find(([at]) => at >= options.baselineMs)?.[1] ?? samples[0]?.[1] ?? 0;
    const max = Math.max(...samples.map(([, rss]) => rss));
    let stateBytes = 0;
    for (const suffix of ["", "-wal"]) {
      try {
        stateBytes += statSync(join(dir, "state", `state.sqlite${suffix}`)).size;
      } catch {
        // no WAL after a clean stop
      }
    }
    const window = options.levelWindowMs ?? options.durationMs / 2;
    const growth = levelGrowth(sizes, window);
    const finalSweeps = sweeps as StateAnswer["sweeps"];
    return {
      sizes,
      sizeGrowth: growth.growth,
      sizeFrom: growth.from,
      sizeTo: growth.to,
      levelWindowMs: window,
      maxStepMs: finalSweeps?.maxStepMs ?? Number.NaN,
      maxStepWallMs: finalSweeps?.maxStepWallMs ?? Number.NaN,
      longestStep: finalSweeps?.longestStep ? `${finalSweeps.longestStep.what}, up to ${finalSweeps.longestStep.limit} rows, ${finalSweeps.longestStep.cpuMs} ms CPU` : "none",
      sweeps: finalSweeps?.sweeps ?? 0,
      pruned: finalSweeps ? Object.values(finalSweeps.removedTotal).reduce((n, count) => n + count, 0) : 0,
      retention: options.retention,
      ticks: finalSweeps?.ticks ?? null,
      maxLoad: Math.max(...loads),
      durationMs: options.durationMs,
      changes: ledger.changes,
      figures: ledger.verify(receiver.requests, SECRETS.webhookSecret),
      rssBaselineKb: baseline,
      rssEndKb: end,
      rssMaxKb: max,
      growth: baseline ? end / baseline - 1 : 0,
      rssLevel: levelGrowth(samples.map(([at, kb]) => [at, kb, 0]), window),
      stateBytes,
      cleanExit: exit.code === 0,
      samples,
    };
  } finally {
    await killLeftover(daemon);
    await api.close();
    await receiver.close();
  }
}

/**
 * A sweep removes a sweep interval's worth of entries at once, so the size saws up and down by
 * that much (every 5 s with 40 s kept: ±6 %). The window's first and last sixths are averaged
 * before they are compared.
 */
export function levelGrowth(sizes: ReadonlyArray<[number, number, number]>, window: number): { growth: number; from: number; to: number } {
  const end = sizes[sizes.length - 1]?.[0] ?? 0;
  const start = end - window;
  const mean = (from: number, to: number): number => {
    const inside = sizes.filter(([at]) => at >= from && at <= to).map(([, bytes]) => bytes);
    return inside.length > 0 ? inside.reduce((a, b) => a + b, 0) / inside.length : Number.NaN;
  };
  const from = mean(start, start + window / 6);
  const to = mean(end - window / 6, end);
  return { growth: from > 0 ? to / from - 1 : Number.NaN, from, to };
}

interface StateAnswer {
  sizes: { kinds: Record<string, { count: number; bytes: number }>; fileBytes: number };
  sweeps: { sweeps: number; maxStepMs: number; maxStepWallMs: number; longestStep: { what: string; limit: number; ms: number; cpuMs: number } | null; removedTotal: Record<string, number>; ticks?: SoakResult["ticks"] } | null;
}

export function soakRows(result: SoakResult, options: { checkRss: boolean }): Row[] {
  const f = result.figures;
  const mib = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;
  // RSS is judged like the state size: over the window in which the state has levelled off,
  // means of its first and last sixths. A single sample at the end against one taken a minute in
  // measured the state filling up to its retention level (2 MiB after a minute, 18.6 MiB from the
  // tenth on in the full run) and the heap's sawtooth (±20 MiB between 5-second samples).
  const rssOk = !options.checkRss || result.rssLevel.growth <= 0.2;
  const retained = result.retention !== undefined;
  const levelOk = !retained || result.sizeGrowth < 0.05;
  const ticks = result.ticks;
  const tickOk = !retained || (ticks !== null && ticks.count > 0 && ticks.maxLateDuringStepMs <= 100);
  const stepOk = !retained || (result.sweeps > 0 && result.maxStepMs <= 100 && tickOk);
  // Wall-clock times are the machine's when it is oversubscribed: a step of 3 ms CPU measured
  // 209 ms at load ~10 on 2 cores, and ticks with no step near them ran 578 ms late. The timing
  // bound is judged only when the load stays under 2× the cores (as the scraping row does).
  const cores = availableParallelism();
  const overloaded = result.maxLoad > cores * 2;
  const timingJudged = !overloaded || stepOk;
  const othersOk = rssOk && levelOk && f.lost === 0 && f.inconsistent === 0 && f.orderViolations === 0 && f.splitIds === 0 && result.cleanExit;
  const ok = rssOk && levelOk && stepOk && f.lost === 0 && f.inconsistent === 0 && f.orderViolations === 0 && f.splitIds === 0 && result.cleanExit;
  const last = result.sizes[result.sizes.length - 1];
  const mb = (bytes: number | undefined): string => `${((bytes ?? 0) / 1024 / 1024).toFixed(1)} MiB`;
  const retentionFigures = retained
    ? `retention ${result.retention}: state over the last ${(result.levelWindowMs / 60_000).toFixed(1)} min ${mb(result.sizeFrom)} → ${mb(result.sizeTo)} (means of its first and last sixths), ${result.sizeGrowth >= 0 ? "+" : ""}${(result.sizeGrowth * 100).toFixed(1)} % (limit +5 %), file at the end ${mb(last?.[2])}; ${result.sweeps} sweeps pruned ${result.pruned} entries, longest step holding the event loop ${result.maxStepMs.toFixed(1)} ms (limit 100 ms; ${result.longestStep}), ${result.maxStepWallMs.toFixed(1)} ms with waits; pass ticks ${ticks ? `${ticks.count}, ${ticks.duringSteps} of them due during a pruning step and run at most ${ticks.maxLateDuringStepMs.toFixed(0)} ms late (limit 100 ms), any tick at most ${ticks.maxLateMs.toFixed(0)} ms late` : "not measured"}; `
    : "";
  return [
    {
      suite: "Soak",
      scenario: `${Math.round(result.durationMs / 60_000) || (result.durationMs / 60_000).toFixed(1)}-minute daemon run at ${Math.round(result.changes / (result.durationMs / 1000))} changes/s`,
      figures:
        `changes ${result.changes}; observable final states ${f.finalStates}, delivered ${f.delivered}, lost ${f.lost}; events delivered ${f.distinctEvents} (duplicates ${f.duplicates}); ` +
        `RSS over the last ${(result.levelWindowMs / 60_000).toFixed(1)} min ${mib(result.rssLevel.from)} → ${mib(result.rssLevel.to)} (means of its first and last sixths), ${result.rssLevel.growth >= 0 ? "+" : ""}${(result.rssLevel.growth * 100).toFixed(1)} % (limit +20 %); after ${Math.round((result.durationMs >= 300_000 ? 60_000 : 20_000) / 1000)} s ${mib(result.rssBaselineKb)}, at the end ${mib(result.rssEndKb)} (${result.growth >= 0 ? "+" : ""}${(result.growth * 100).toFixed(1)} %), max ${mib(result.rssMaxKb)}; ` +
        retentionFigures +
        `state file ${(result.stateBytes / 1024 / 1024).toFixed(1)} MiB; clean stop: ${result.cleanExit ? "yes" : "no"}`,
      result: ok ? "pass" : othersOk && !timingJudged ? "skipped" : "FAIL",
      ...(ok
        ? {}
        : {
            notes: [
              ...f.problems.slice(0, 4),
              rssOk ? "" : "RSS grew more than 20 %",
              levelOk ? "" : "state size did not level off",
              stepOk ? "" : tickOk ? "a retention step took over 100 ms (or no sweep ran)" : "a pass tick due during a pruning step ran over 100 ms late (or no tick was measured)",
              timingJudged ? "" : `timing not judged: load average up to ${result.maxLoad.toFixed(1)} on ${cores} cores during the run`,
            ].filter(Boolean).join("; "),
          }),
    },
  ];
}
