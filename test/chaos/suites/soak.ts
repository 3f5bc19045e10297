import { statSync } from "node:fs";
import { join } from "node:path";
import { startFakeRest } from "../../helpers/fake-rest.js";
import { startReceiver } from "../../helpers/receiver.js";
import { serverUrl, sleep, spawnCli, stopCli, waitUntil, type CliProcess } from "../lib/cli.js";
import { restSource, target, writeConfig } from "../lib/config.js";
import { Ledger, seededRandom, type DeliveryFigures } from "../lib/ledger.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SECRETS } from "../lib/secrets.js";

/**
 * Soak: the daemon under a steady high change rate for `durationMs` (10 minutes in the full
 * run). RSS is sampled every 5 s from /proc; the figure compares the end with the sample after
 * `baselineMs` (the first minute). Then the changes stop and everything must be delivered.
 */

export interface SoakOptions {
  durationMs: number;
  baselineMs: number;
  /** Changes per second. */
  rate: number;
  /** Reconcile cron (default every 10 s). */
  reconcile?: string;
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
  stateBytes: number;
  cleanExit: boolean;
  samples: Array<[number, number]>;
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
    sources: [restSource(api.url, { schedule: "*/1 * * * * *", reconcile: options.reconcile ?? "*/10 * * * * *" }, { pagination: { style: "page", page_param: "page", size_param: "per_page", size: 100 } })],
    targets: [target(receiver.url, { concurrency: 8 })],
  });
  let daemon: CliProcess | undefined;
  const samples: Array<[number, number]> = [];
  try {
    daemon = spawnCli(["run", "-c", config], { label: "soak daemon" });
    await serverUrl(daemon).catch(() => undefined);
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
        nextSample += 5000;
      }
      if (Date.now() >= nextLog) {
        options.log(`soak: ${Math.round((Date.now() - started) / 60_000)} min, ${ledger.changes} changes, ${receiver.requests.length} deliveries, RSS ${Math.round((samples[samples.length - 1]?.[1] ?? 0) / 1024)} MiB`);
        nextLog += 60_000;
      }
      await sleep(50);
    }
    const end = daemon.rssKb() ?? 0;
    samples.push([Date.now() - started, end]);
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
    return {
      durationMs: options.durationMs,
      changes: ledger.changes,
      figures: ledger.verify(receiver.requests, SECRETS.webhookSecret),
      rssBaselineKb: baseline,
      rssEndKb: end,
      rssMaxKb: max,
      growth: baseline ? end / baseline - 1 : 0,
      stateBytes,
      cleanExit: exit.code === 0,
      samples,
    };
  } finally {
    if (daemon && !daemon.exited()) {
      daemon.child.kill("SIGKILL");
      await daemon.done;
    }
    await api.close();
    await receiver.close();
  }
}

export function soakRows(result: SoakResult, options: { checkRss: boolean }): Row[] {
  const f = result.figures;
  const mib = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;
  const rssOk = !options.checkRss || result.growth <= 0.2;
  const ok = rssOk && f.lost === 0 && f.inconsistent === 0 && f.orderViolations === 0 && f.splitIds === 0 && result.cleanExit;
  return [
    {
      suite: "Soak",
      scenario: `${Math.round(result.durationMs / 60_000) || (result.durationMs / 60_000).toFixed(1)}-minute daemon run at ${Math.round(result.changes / (result.durationMs / 1000))} changes/s`,
      figures:
        `changes ${result.changes}; observable final states ${f.finalStates}, delivered ${f.delivered}, lost ${f.lost}; events delivered ${f.distinctEvents} (duplicates ${f.duplicates}); ` +
        `RSS after ${Math.round((result.durationMs >= 300_000 ? 60_000 : 20_000) / 1000)} s ${mib(result.rssBaselineKb)}, at the end ${mib(result.rssEndKb)} (${result.growth >= 0 ? "+" : ""}${(result.growth * 100).toFixed(1)} %, limit +20 %), max ${mib(result.rssMaxKb)}; ` +
        `state file ${(result.stateBytes / 1024 / 1024).toFixed(1)} MiB; clean stop: ${result.cleanExit ? "yes" : "no"}`,
      result: ok ? "pass" : "FAIL",
      ...(ok ? {} : { notes: [...f.problems.slice(0, 4), rssOk ? "" : "RSS grew more than 20 %"].filter(Boolean).join("; ") }),
    },
  ];
}
