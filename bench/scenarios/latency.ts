import { join } from "node:path";
import { BENCH_SECRET, benchConfig, benchSource, benchTarget, NEVER, OVERLAP_MS } from "../config.js";
import type { Bench } from "../context.js";
import { distinctIds, percentile, round, seededRandom } from "../report.js";

/**
 * Scenario 4: the daemon (Scheduler + Dispatcher from openApp) on a 1 s schedule; records
 * change at random moments in the fake API; the time from each change (stamped by the fake)
 * to its arrival at the receiver (stamped by the receiver). Floor: a bare poller on the same
 * ticks that POSTs what changed, no state or signing, under the same changes.
 */

const RECORDS = 1_000;

interface Change {
  id: number;
  rev: number;
  at: number;
}

interface Receipt {
  id: number;
  rev: number;
  at: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Plays `count` changes of distinct records at random moments over `spanMs`; returns them as the fake stamped them. */
async function playChanges(bench: Bench, seed: number, count: number, spanMs: number): Promise<Change[]> {
  const random = seededRandom(seed);
  const ids = distinctIds(random, count, RECORDS);
  const moments = ids.map(() => random() * spanMs).sort((a, b) => a - b);
  const started = Date.now();
  const pending: Array<Promise<Change[]>> = [];
  for (const [index, id] of ids.entries()) {
    await sleep(started + moments[index]! - Date.now());
    pending.push(bench.fake.call<Change[]>("update", { name: "lat", ids: [id] }));
  }
  return (await Promise.all(pending)).flat();
}

/** Waits (bounded) until every change has a receipt; returns the latencies in seconds. */
async function latencies(bench: Bench, changes: Change[], what: string): Promise<number[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const receipts = await bench.receiver.call<Receipt[]>("receipts");
    const first = new Map<string, number>();
    for (const r of receipts) {
      const key = `${r.id}/${r.rev}`;
      first.set(key, Math.min(first.get(key) ?? Number.POSITIVE_INFINITY, r.at));
    }
    const missing = changes.filter((c) => !first.has(`${c.id}/${c.rev}`));
    if (missing.length === 0) return changes.map((c) => (first.get(`${c.id}/${c.rev}`)! - c.at) / 1000);
    if (Date.now() > deadline) {
      throw new Error(`harness check failed: ${what}: ${missing.length} of ${changes.length} changes never reached the receiver (e.g. record ${missing[0]!.id} rev ${missing[0]!.rev})`);
    }
    await sleep(250);
  }
}

export async function latencyScenario(bench: Bench): Promise<void> {
  const { sizes } = bench;
  await bench.fake.call("create", { name: "lat", count: RECORDS, pageSize: sizes.pageSize, newestAt: Date.now() - 86_400_000, spacingMs: 60_000 });

  // retrohook
  bench.log(`latency: daemon on a 1 s schedule, ${sizes.latencyChanges} changes over ${sizes.latencySpanMs / 1000} s`);
  await bench.receiver.call("reset", { secret: BENCH_SECRET, track: true });
  const config = benchConfig(
    join(bench.dir, "lat.sqlite"),
    [benchSource({ name: "lat", baseUrl: bench.apiUrl, dataset: "lat", cursor: "param", pageSize: sizes.pageSize, schedule: "* * * * * *", reconcile: NEVER })],
    [benchTarget(bench.receiverUrl)],
  );
  const daemon = await bench.daemon("latency");
  let measured: number[];
  try {
    await daemon.call("start", { config });
    await daemon.call("waitForPasses", { count: 1, timeoutMs: 30_000 });
    const changes = await playChanges(bench, 4, sizes.latencyChanges, sizes.latencySpanMs);
    measured = await latencies(bench, changes, "retrohook");
    await daemon.call("stop");
  } finally {
    await daemon.stop();
  }
  const signatures = await bench.receiver.call<{ badSignatures: number; unsigned: number }>("stats");
  if (signatures.badSignatures > 0 || signatures.unsigned > 0) throw new Error(`harness check failed: latency: ${signatures.badSignatures} bad signatures`);

  // floor
  bench.log("latency: floor (bare poller)");
  await bench.receiver.call("reset", { track: true });
  // The bare poller reads everything first (about a second, child start included), then polls.
  const untilMs = Date.now() + 1_500 + sizes.latencySpanMs + 3_000;
  const floorRun = bench.job("floorLatency", { listUrl: `${bench.apiUrl}/d/lat/invoices`, pageSize: sizes.pageSize, receiverUrl: bench.receiverUrl, overlapMs: OVERLAP_MS, untilMs });
  await sleep(1_500);
  const floorChanges = await playChanges(bench, 44, sizes.latencyChanges, sizes.latencySpanMs);
  const floor = await latencies(bench, floorChanges, "floor");
  await floorRun;

  const p99 = percentile(measured, 99);
  const floorP99 = percentile(floor, 99);
  bench.rows.push({
    scenario: "latency p99",
    figure: round(p99, 3),
    unit: "s",
    floor: round(floorP99, 3),
    ratio: round(p99 / floorP99),
    target: "≤ 1.25 s",
    met: p99 <= 1.25,
    detail: `${measured.length} changes over ${sizes.latencySpanMs / 1000} s, 1 s schedule; p50 ${round(percentile(measured, 50), 3)} s, max ${round(Math.max(...measured), 3)} s (floor p50 ${round(percentile(floor, 50), 3)} s)`,
  });
}
