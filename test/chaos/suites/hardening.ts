import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { ManualClock } from "../../../src/clock.js";
import { parseConfig } from "../../../src/config/load.js";
import type { RestSourceConfig } from "../../../src/config/types.js";
import { runSourcePass, type PassMode, type PassOutcome } from "../../../src/pipeline/poll-pass.js";
import { createSource } from "../../../src/sources/registry.js";
import { openStateStore } from "../../../src/store/open.js";
import type { EnqueueItem, StateStore } from "../../../src/store/store.js";
import { silentLogger } from "../../../src/telemetry/logger.js";
import { startFakeRest } from "../../helpers/fake-rest.js";
import { startReceiver } from "../../helpers/receiver.js";
import { serverUrl, sleep, spawnCli, stopCli, killLeftover, type CliProcess } from "../lib/cli.js";
import { restSource as chaosRestSource, stateFile, target, writeConfig } from "../lib/config.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SECRETS } from "../lib/secrets.js";

/**
 * Issue #27's hardening rows: a list that never ends, a page far over the size limit, and
 * `/metrics` scraped in a loop under a 50,000-delivery backlog. Each prints its figure; the
 * regression tests are in test/reliability/ (endless-list, page-memory, metrics-scrape).
 */

export interface HardeningSizes {
  /** Pending deliveries before the daemon starts. */
  backlog: number;
  /** Length of each measuring window of the scrape row. */
  windowMs: number;
  /** `max_pass_pages` of the endless-list row. */
  endlessPages: number;
}

export const HARDENING_FULL: HardeningSizes = { backlog: 50_000, windowMs: 10_000, endlessPages: 5_000 };
export const HARDENING_REDUCED: HardeningSizes = { backlog: 50_000, windowMs: 4_000, endlessPages: 500 };

export async function hardening(options: { sizes: HardeningSizes; scratch: Scratch; log: Logger }): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(await emptyFirstPass(options));
  rows.push(await pageSizeCap(options));
  rows.push(await endlessList(options));
  rows.push(await largePage(options));
  rows.push(await metricsUnderBacklog(options));
  return rows;
}

// ---- an empty first pass, a vendor capping the page size ----

function fakeRestConfig(dir: string, api: { url: string; token: string }, resource: Record<string, unknown>): RestSourceConfig {
  const config = restConfig(dir, api.url, { type_prefix: "item", cursor: { field: "modified_at", param: "modified_since" }, get: "/items/{id}", ...resource });
  return { ...config, headers: { Authorization: `Bearer ${api.token}` } };
}

async function emptyFirstPass({ scratch }: { scratch: Scratch }): Promise<Row> {
  const dir = scratch.dir("empty-first");
  const api = await startFakeRest();
  const store = await openStateStore("sqlite::memory:");
  try {
    api.seed(250);
    const config = fakeRestConfig(dir, api, { pagination: { style: "page", size_param: "per_page", size: 100 } });
    const clock = new ManualClock(undefined, { autoAdvance: true });
    const types: string[] = [];
    api.injectFault({ fault: { type: "status", status: 200, body: [] }, match: (r) => r.path === "/items" });
    const empty = await onePass(store, config, "incremental", clock, types);
    const second = await onePass(store, config, "incremental", clock, types);
    clock.advance(60_000);
    api.update(3, { status: "paid" });
    await onePass(store, config, "incremental", clock, types);
    await onePass(store, config, "reconcile", clock, types);
    const created = types.filter((t) => t.startsWith("item.created")).length;
    const deleted = types.filter((t) => t.startsWith("item.deleted")).length;
    const real = types.filter((t) => t === "item.updated:3" || t === "item.paid:3").length;
    return {
      suite: "Hardening",
      scenario: "an empty first pass: 250 records, the first listing answers 200 [], then normal listings, an edit and a reconcile",
      figures: `first pass records ${empty.outcome.records}; second pass baselined ${second.outcome.baselined}; false created ${created}, false deleted ${deleted}; the real edit delivered: ${real > 0 ? "yes" : "no"}`,
      result: created === 0 && deleted === 0 && second.outcome.baselined === 250 && real > 0 ? "pass" : "FAIL",
    };
  } finally {
    await store.close();
    await api.close();
  }
}

async function pageSizeCap({ scratch }: { scratch: Scratch }): Promise<Row> {
  const dir = scratch.dir("page-cap");
  const api = await startFakeRest();
  const store = await openStateStore("sqlite::memory:");
  try {
    api.seed(60);
    api.maxPerPage = 50;
    const config = fakeRestConfig(dir, api, { pagination: { style: "page", page_param: "page", size_param: "per_page", size: 100, first_page: 1 } });
    const clock = new ManualClock(undefined, { autoAdvance: true });
    const types: string[] = [];
    const baseline = await onePass(store, config, "incremental", clock, types);
    clock.advance(60_000);
    for (let id = 51; id <= 60; id += 1) api.update(id, { status: "sent" });
    await onePass(store, config, "incremental", clock, types);
    for (let i = 0; i < 3; i += 1) await onePass(store, config, "reconcile", clock, types);
    const falseCreated = types.filter((t) => t.startsWith("item.created")).length;
    const falseDeleted = types.filter((t) => t.startsWith("item.deleted")).length;
    const updates = types.filter((t) => t.startsWith("item.updated")).length;
    return {
      suite: "Hardening",
      scenario: "page-size cap: 60 records, size 100 asked, the vendor silently returns 50 per page (no count header); 10 edits, 3 reconciles",
      figures: `baselined ${baseline.outcome.baselined} of 60; updates delivered ${updates} of 10; false created ${falseCreated}, false deleted ${falseDeleted}`,
      result: baseline.outcome.baselined === 60 && updates === 10 && falseCreated === 0 && falseDeleted === 0 ? "pass" : "FAIL",
    };
  } finally {
    await store.close();
    await api.close();
  }
}

// ---- a list that never ends ----

/** `GET /items?cursor=N`: ten fresh records and `next` = N+1, forever. */
async function startEndless(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    const n = Number(new URL(req.url ?? "/", "http://x").searchParams.get("cursor") ?? 0);
    const data = Array.from({ length: 10 }, (_, i) => ({ id: n * 10 + i, name: `r${n * 10 + i}` }));
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ data, next: String(n + 1) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function restConfig(dir: string, baseUrl: string, resource: Record<string, unknown>): RestSourceConfig {
  const yaml = JSON.stringify({ state: { url: "sqlite::memory:" }, sources: [{ name: "legacy", type: "rest", base_url: baseUrl, resources: [{ name: "items", path: "/items", ...resource }] }], targets: [] });
  return parseConfig(yaml, { path: join(dir, "config.yaml"), env: {} }).sources[0] as RestSourceConfig;
}

async function onePass(store: StateStore, config: RestSourceConfig, mode: PassMode, clock = new ManualClock(undefined, { autoAdvance: true }), types: string[] = []): Promise<{ outcome: PassOutcome; events: number }> {
  const logger = silentLogger();
  const source = createSource(config, { clock, logger });
  let events = 0;
  try {
    const [outcome] = await runSourcePass({ store, clock, logger, route: () => ["t"], onEvents: (e) => {
      events += e.length;
      types.push(...e.map((event) => `${event.type}:${event.record_id}`));
    } }, source, config, mode);
    return { outcome: outcome!, events };
  } finally {
    source.close();
  }
}

async function endlessList({ sizes, scratch, log }: { sizes: HardeningSizes; scratch: Scratch; log: Logger }): Promise<Row> {
  const dir = scratch.dir("endless");
  const api = await startEndless();
  const file = join(dir, "state.sqlite");
  const store = await openStateStore(`sqlite://${file}`);
  try {
    const began = Date.now();
    const { outcome, events } = await onePass(store, restConfig(dir, api.url, { records: "data", pagination: { style: "next", next: "next", token_param: "cursor" }, max_pass_pages: sizes.endlessPages }), "incremental");
    const seconds = (Date.now() - began) / 1000;
    const kept = await store.countSnapshots({ source: "legacy", resource: "items" });
    const state = await store.getResourceState({ source: "legacy", resource: "items" });
    await store.close();
    const bytes = statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
    log(`  endless list: ${api.requests()} requests in ${seconds.toFixed(1)} s, ${outcome.error ?? "no error"}`);
    const named = /max_pass_pages/.test(outcome.error ?? "");
    const ok = !outcome.ok && outcome.cause === "pass-bound" && named && kept === 0 && events === 0 && state?.cursor === undefined && api.requests() <= sizes.endlessPages + 2;
    return {
      suite: "Hardening",
      scenario: `a list that never ends: every page ten fresh records and a fresh \`next\` (first pass, max_pass_pages ${sizes.endlessPages})`,
      figures: `requests ${api.requests()} in ${seconds.toFixed(1)} s; pass failed naming max_pass_pages: ${named ? "yes" : "no"}; records kept 0 expected, got ${kept}; false events ${events}; cursor moved: ${state?.cursor === undefined ? "no" : "yes"}; state file ${(bytes / 1024).toFixed(0)} KiB`,
      result: ok ? "pass" : "FAIL",
    };
  } finally {
    await api.close();
  }
}

// ---- a page far over the size limit ----

/** One page (`GET /items`) of `count` records of ~1 KB. */
async function startBigPage(count: number): Promise<{ url: string; bytes: number; close: () => Promise<void> }> {
  const filler = "x".repeat(1000);
  const body = Buffer.from(JSON.stringify(Array.from({ length: count }, (_, i) => ({ id: i + 1, note: filler }))));
  const server: Server = createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes: body.length,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Peak RSS growth (MB) and the longest event-loop stall (ms) while `work` runs. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; rssMb: number; stallMs: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, rssMb: (peak - base) / 1024 / 1024, stallMs: delay.max / 1e6 };
  } finally {
    clearInterval(sampler);
    delay.disable();
  }
}

async function largePage({ scratch, log }: { scratch: Scratch; log: Logger }): Promise<Row> {
  const dir = scratch.dir("large-page");
  // 48,000 records of ~1 KB: a 49 MB page, as in the issue. Then one under the 8 MB default.
  const huge = await startBigPage(48_000);
  const fits = await startBigPage(7_000);
  try {
    const store = await openStateStore("sqlite::memory:");
    const refused = await measured(() => onePass(store, restConfig(dir, huge.url, {}), "reconcile"));
    await store.close();
    const other = await openStateStore("sqlite::memory:");
    const accepted = await measured(() => onePass(other, restConfig(dir, fits.url, {}), "reconcile"));
    await other.close();
    const names = /pagination\.size/.test(refused.value.outcome.error ?? "") && /max_response_bytes/.test(refused.value.outcome.error ?? "");
    log(`  large page: refused +${refused.rssMb.toFixed(0)} MB RSS, stall ${refused.stallMs.toFixed(0)} ms; ${(fits.bytes / 1e6).toFixed(1)} MB page +${accepted.rssMb.toFixed(0)} MB, stall ${accepted.stallMs.toFixed(0)} ms`);
    const ok = !refused.value.outcome.ok && refused.value.outcome.cause === "too-large" && names && accepted.value.outcome.ok && refused.rssMb < 128 && accepted.rssMb < 256;
    return {
      suite: "Hardening",
      scenario: "large page: a 49 MB page under the default max_response_bytes (8 MB), then a 7 MB page",
      figures: `${(huge.bytes / 1e6).toFixed(0)} MB page refused (too-large, names pagination.size and max_response_bytes: ${names ? "yes" : "no"}): peak RSS +${refused.rssMb.toFixed(0)} MB, longest event-loop stall ${refused.stallMs.toFixed(0)} ms; ${(fits.bytes / 1e6).toFixed(1)} MB page read (${accepted.value.outcome.records} records): peak RSS +${accepted.rssMb.toFixed(0)} MB, longest stall ${accepted.stallMs.toFixed(0)} ms (before: a 49 MB page +620–780 MB RSS, stalls of 2.2–4.5 s)`,
      result: ok ? "pass" : "FAIL",
    };
  } finally {
    await huge.close();
    await fits.close();
  }
}

// ---- /metrics under a backlog ----

function backlogItems(count: number, from: number, at: string): EnqueueItem[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const envelope = { id: `evt_backlog_${n}`, type: "item.updated", source: "legacy", resource: "items", kind: null, record_id: String(n), detected_at: at, data: { object: { id: n } } };
    return { event: { envelope, body: JSON.stringify(envelope) }, recordKey: `legacy/items/\u001f${n}`, targets: ["erp"] };
  });
}

/** Scrapes URL in CLIENTS loops until killed, printing each scrape's milliseconds. */
const SCRAPER = `
const clients = Number(process.env.CLIENTS);
const loop = async () => { for (;;) { const t = performance.now(); const r = await fetch(process.env.URL, { headers: { authorization: "Bearer " + process.env.TOKEN } }); await r.text(); process.stdout.write((performance.now() - t).toFixed(2) + "\\n"); } };
for (let i = 0; i < clients; i++) loop().catch(() => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
`;

async function metricsUnderBacklog({ sizes, scratch, log }: { sizes: HardeningSizes; scratch: Scratch; log: Logger }): Promise<Row> {
  const dir = scratch.dir("metrics");
  const api = await startFakeRest({ token: SECRETS.restToken });
  const receiver = await startReceiver();
  let daemon: CliProcess | undefined;
  try {
    const config = writeConfig(dir, { sources: [chaosRestSource(api.url)], targets: [target(receiver.url, { concurrency: 4 })] });
    const seed = await openStateStore(`sqlite://${stateFile(dir)}`);
    const at = new Date().toISOString();
    for (let from = 0; from < sizes.backlog; from += 5_000) await seed.enqueue(backlogItems(Math.min(5_000, sizes.backlog - from), from, at));
    await seed.close();
    daemon = spawnCli(["run", "--config", config], { label: "hardening metrics run" });
    const url = await serverUrl(daemon);
    await receiver.waitFor(200, 60_000);
    const cpuMs = (): number => {
      const fields = readFileSync(`/proc/${daemon!.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    };
    const cpu: number[] = [];
    const rate = async (): Promise<number> => {
      const before = receiver.requests.length;
      const cpuBefore = cpuMs();
      await sleep(sizes.windowMs);
      cpu.push(cpuMs() - cpuBefore);
      return ((receiver.requests.length - before) * 1000) / sizes.windowMs;
    };
    const quiet1 = await rate();
    // The two scrapers run in a process of their own, so the receiver's loop is not theirs.
    const scrapers = spawn(process.execPath, ["-e", SCRAPER], { env: { ...process.env, URL: `${url}/metrics`, TOKEN: SECRETS.adminToken, CLIENTS: "2" }, stdio: ["ignore", "pipe", "inherit"] });
    let scraped = "";
    scrapers.stdout.on("data", (chunk: Buffer) => (scraped += chunk.toString()));
    await sleep(300);
    const busy = await rate();
    scrapers.kill("SIGTERM");
    await new Promise((resolve) => scrapers.once("exit", resolve));
    const latencies = scraped.split("\n").filter(Boolean).map(Number).sort((a, b) => a - b);
    const quiet2 = await rate();
    const quiet = (quiet1 + quiet2) / 2;
    const ratio = quiet > 0 ? busy / quiet : 0;
    const p50 = latencies[Math.floor(latencies.length / 2)] ?? 0;
    const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } })).text();
    const pending = Number(/retrohook_outbox_pending\{target="erp"\} (\d+)/.exec(metrics)?.[1] ?? Number.NaN);
    log(`  daemon CPU ms per window: ${cpu.join(", ")}`);
    log(`  metrics: ${quiet1.toFixed(0)}/s, scraped ${busy.toFixed(0)}/s, ${quiet2.toFixed(0)}/s; ${latencies.length} scrapes, p50 ${p50.toFixed(1)} ms; pending ${pending}`);
    await stopCli(daemon);
    const load = loadavg()[0]!;
    const cores = availableParallelism();
    const overloaded = load > cores * 2;
    const duplicates = receiver.requests.length - new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size;
    return {
      suite: "Hardening",
      scenario: `/metrics scraped in a loop by two clients under a ${sizes.backlog.toLocaleString("en-US")}-delivery backlog (SQLite state)`,
      figures: `delivered/s without scraping ${quiet.toFixed(0)} (${quiet1.toFixed(0)} before, ${quiet2.toFixed(0)} after), while scraping ${busy.toFixed(0)}: ratio ${(ratio * 100).toFixed(0)} % (≥ 80 %); scrapes ${latencies.length} in ${(sizes.windowMs / 1000).toFixed(0)} s, p50 ${p50.toFixed(1)} ms; gauge pending ${pending} while ${sizes.backlog - receiver.requests.length} undelivered; duplicates ${duplicates} (before: 3,456 → 288 per 10 s, ~8 %)`,
      // Rates are comparable only when the machine has CPU to spare: on an oversubscribed one the
      // scrapers' own process takes the daemon's share (its CPU per window is in the figures).
      ...(overloaded ? { notes: `not judged: load average ${load.toFixed(1)} on ${cores} cores during the run (daemon CPU ms per window ${cpu.join(", ")})` } : {}),
      result: duplicates !== 0 ? "FAIL" : overloaded ? "skipped" : ratio >= 0.8 ? "pass" : "FAIL",
    };
  } finally {
    await killLeftover(daemon);
    await receiver.close();
    await api.close();
  }
}
