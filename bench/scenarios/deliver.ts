import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { PassOutcome } from "../../src/pipeline/poll-pass.js";
import { BENCH_SECRET, benchConfig, benchSource, benchTarget, TARGET_CONCURRENCY } from "../config.js";
import type { Bench } from "../context.js";
import { deliverRow, round } from "../report.js";

/**
 * Scenario 3 and the naive script on it: `deliveries` events queued by a backfill pass (one
 * `created` per record), then delivered by the dispatcher — signed, acked in state — to the
 * receiver process. Floor: the same bodies POSTed with the same concurrency and keep-alive.
 */

interface ReceiverStats {
  count: number;
  verified: number;
  badSignatures: number;
  unsigned: number;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`harness check failed: ${message}`);
}

export async function deliverScenario(bench: Bench): Promise<void> {
  const { sizes, fake, receiver } = bench;
  const n = sizes.deliveries;
  const label = n >= 1000 ? `${n / 1000}k` : String(n);
  await fake.call("create", { name: "dlv", count: n, pageSize: sizes.pageSize, newestAt: Date.now() - 86_400_000, spacingMs: 60_000 });
  const state = join(bench.dir, "dlv.sqlite");
  const config = benchConfig(
    state,
    [benchSource({ name: "dlv", baseUrl: bench.apiUrl, dataset: "dlv", cursor: "param", pageSize: sizes.pageSize, start: { mode: "backfill" } })],
    [benchTarget(bench.receiverUrl)],
  );
  bench.log(`deliver-${label}: queueing ${n} events`);
  const queued = await bench.job<{ outcomes: PassOutcome[]; pending: number }>("pass", { config, mode: "incremental" });
  check(queued.pending === n, `${queued.pending} deliveries queued, expected ${n}`);

  bench.log(`deliver-${label}: naive script`);
  await receiver.call("reset", {});
  const naive = await bench.job<{ ms: number; count: number }>("naiveDeliver", { stateUrl: config.state.url, url: bench.receiverUrl });
  check((await receiver.call<ReceiverStats>("stats")).count === n, "naive script delivered everything");

  // Each repetition: the floor, then the dispatcher on a fresh copy of the queued state.
  const floors: Array<{ ms: number; cpuMs: number; count: number }> = [];
  const runs: Array<{ ms: number; cpuMs: number; expected: number; left: number; dead: number; maxRssMb: number; verified: number }> = [];
  for (let rep = 1; rep <= sizes.repetitions; rep += 1) {
    bench.log(`deliver-${label} (${rep}/${sizes.repetitions}): floor, then retrohook`);
    await receiver.call("reset", {});
    const floor = await bench.job<{ ms: number; cpuMs: number; count: number }>("floorDeliver", { stateUrl: config.state.url, url: bench.receiverUrl, concurrency: TARGET_CONCURRENCY });
    const floorReceived = await receiver.call<ReceiverStats>("stats");
    check(floor.count === n && floorReceived.count === n, `floor posted ${floor.count}, receiver got ${floorReceived.count}`);
    floors.push(floor);

    const copy = join(bench.dir, `dlv-${rep}.sqlite`);
    copyFileSync(state, copy);
    if (existsSync(`${state}-wal`)) copyFileSync(`${state}-wal`, `${copy}-wal`);
    await receiver.call("reset", { secret: BENCH_SECRET, verifyEvery: 50 });
    const run = await bench.job<{ ms: number; cpuMs: number; expected: number; left: number; dead: number; maxRssMb: number }>("deliver", { config: { ...config, state: { url: `sqlite://${copy}` } } });
    const got = await receiver.call<ReceiverStats>("stats");
    check(run.expected === n && run.left === 0 && run.dead === 0, `dispatcher: ${run.expected} pending at start, ${run.left} left, ${run.dead} dead`);
    check(got.count === n, `receiver got ${got.count} of ${n}`);
    check(got.badSignatures === 0 && got.unsigned === 0 && got.verified > 0, `signatures: ${got.verified} verified, ${got.badSignatures} bad, ${got.unsigned} unsigned`);
    runs.push({ ...run, verified: got.verified });
    for (const suffix of ["", "-wal", "-shm", ".lock"]) rmSync(`${copy}${suffix}`, { force: true });
  }
  const row = deliverRow(
    `deliver-${label}`,
    n,
    runs,
    floors,
    (run, rates) =>
      `${n} events, concurrency ${TARGET_CONCURRENCY}, signed + acked; best of ${sizes.repetitions} (${rates.runs} ev/s; floor ${rates.floors} ev/s); peak RSS ${round(run.maxRssMb, 0)} MB; ${run.verified} signatures verified by the receiver`,
  );
  bench.rows.push(row);
  const floorRate = row.floor!;
  const naiveRate = (n * 1000) / naive.ms;
  bench.rows.push({
    scenario: `naive: deliver-${label}`,
    figure: round(naiveRate, 0),
    unit: "ev/s",
    floor: round(floorRate, 0),
    ratio: round(naiveRate / floorRate),
    target: null,
    met: null,
    detail: "one fetch POST after another, no signing, no state",
  });
}
