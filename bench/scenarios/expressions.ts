import { join } from "node:path";
import type { TargetConfig } from "../../src/config/types.js";
import { DEFAULT_EXPRESSION_LIMITS } from "../../src/core/expressions.js";
import type { PassOutcome } from "../../src/pipeline/poll-pass.js";
import { BENCH_SECRET, benchConfig, benchSource, benchTarget } from "../config.js";
import type { Bench } from "../context.js";
import { round } from "../report.js";

/**
 * `deliver-10k` with a typical filter and transform on every event: the same backfill queued
 * and delivered twice, by a target without expressions and by one with a filter (which every
 * event passes) and a transform building a flat import body. Both run at routing, in the pass
 * that queues the events, so each run is timed from the start of that pass to the last ack.
 * Targets: ≥ 1,000 ev/s delivered and ≥ 0.8× the same run without expressions.
 */

const limits = { timeoutMs: DEFAULT_EXPRESSION_LIMITS.timeoutMs, maxBytes: DEFAULT_EXPRESSION_LIMITS.maxBytes };

/** Every bench invoice passes (PLN, positive amounts): the cost measured is the evaluation, not fewer deliveries. */
export const BENCH_FILTER = 'data.object.currency = "PLN" and $number(data.object.price_gross) > 0 and type in ["invoice.created", "invoice.updated", "invoice.paid"]';

export const BENCH_TRANSFORM = `{
  "doc_id": source & "-" & record_id,
  "action": $substringAfter(type, "."),
  "number": data.object.number,
  "buyer": data.object.buyer.name,
  "buyer_tax_id": data.object.buyer.tax_no,
  "issued_on": data.object.issue_date,
  "due_on": data.object.payment_to,
  "net": $number(data.object.price_net),
  "gross": $number(data.object.price_gross),
  "currency": data.object.currency,
  "lines": data.object.lines.{ "name": name, "qty": quantity, "gross": $number(total_gross) },
  "event_id": id
}`;

function withExpressions(target: TargetConfig): TargetConfig {
  return {
    ...target,
    filter: { text: BENCH_FILTER, label: "bench.filter", limits },
    transform: { text: BENCH_TRANSFORM, label: "bench.transform", limits },
  };
}

interface ReceiverStats {
  count: number;
  verified: number;
  badSignatures: number;
  unsigned: number;
}

interface Run {
  passMs: number;
  deliverMs: number;
  cpuMs: number;
  verified: number;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`harness check failed: ${message}`);
}

export async function expressionsScenario(bench: Bench): Promise<void> {
  const { sizes, fake, receiver } = bench;
  const n = sizes.deliveries;
  const label = n >= 1000 ? `${n / 1000}k` : String(n);
  await fake.call("create", { name: "dlvx", count: n, pageSize: sizes.pageSize, newestAt: Date.now() - 86_400_000, spacingMs: 60_000 });

  const once = async (variant: "plain" | "expressions", rep: number): Promise<Run> => {
    const state = join(bench.dir, `dlvx-${variant}-${rep}.sqlite`);
    const target = benchTarget(bench.receiverUrl);
    const config = benchConfig(
      state,
      [benchSource({ name: "dlvx", baseUrl: bench.apiUrl, dataset: "dlvx", cursor: "param", pageSize: sizes.pageSize, start: { mode: "backfill" } })],
      [variant === "expressions" ? withExpressions(target) : target],
    );
    const queued = await bench.job<{ ms: number; cpuMs: number; outcomes: PassOutcome[]; pending: number }>("pass", { config, mode: "incremental" });
    check(queued.pending === n, `${variant}: ${queued.pending} deliveries queued, expected ${n}`);
    await receiver.call("reset", { secret: BENCH_SECRET, verifyEvery: 50 });
    const run = await bench.job<{ ms: number; cpuMs: number; expected: number; left: number; dead: number }>("deliver", { config });
    const got = await receiver.call<ReceiverStats>("stats");
    check(run.expected === n && run.left === 0 && run.dead === 0, `${variant}: ${run.expected} pending at start, ${run.left} left, ${run.dead} dead`);
    check(got.count === n && got.badSignatures === 0 && got.unsigned === 0 && got.verified > 0, `${variant}: receiver got ${got.count}, ${got.verified} verified, ${got.badSignatures} bad`);
    return { passMs: queued.ms, deliverMs: run.ms, cpuMs: queued.cpuMs + run.cpuMs, verified: got.verified };
  };

  const plain: Run[] = [];
  const shaped: Run[] = [];
  for (let rep = 1; rep <= sizes.repetitions; rep += 1) {
    bench.log(`deliver-${label} with filter + transform (${rep}/${sizes.repetitions}): without, then with`);
    plain.push(await once("plain", rep));
    shaped.push(await once("expressions", rep));
  }
  const total = (run: Run): number => run.passMs + run.deliverMs;
  const best = (runs: Run[]): Run => runs.reduce((a, b) => (total(b) < total(a) ? b : a));
  const without = best(plain);
  const withExpr = best(shaped);
  const deliverRate = (n * 1000) / withExpr.deliverMs;
  const endToEnd = (run: Run): number => (n * 1000) / total(run);
  const ratio = endToEnd(withExpr) / endToEnd(without);
  const describe = (runs: Run[]): string => runs.map((r) => `pass ${Math.round(r.passMs)} ms + delivery ${Math.round(r.deliverMs)} ms`).join(", ");
  bench.rows.push({
    scenario: `deliver-${label} filter+transform`,
    figure: round(deliverRate, 0),
    unit: "ev/s",
    floor: round(endToEnd(without), 0),
    ratio: round(ratio),
    target: "≥ 1000 ev/s and ≥ 0.8× without",
    met: deliverRate >= 1000 && ratio >= 0.8,
    detail: `${n} events, every one through a filter and a transform at routing, signed over the transformed body; figure: delivery rate; floor: queue pass + delivery without expressions (${round(endToEnd(without), 0)} ev/s), ratio: with ÷ without over queue pass + delivery (${round(endToEnd(withExpr), 0)} ev/s with); best of ${sizes.repetitions} — without: ${describe(plain)}; with: ${describe(shaped)}; ${withExpr.verified} signatures verified by the receiver`,
  });
}
