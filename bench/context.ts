import { join } from "node:path";
import type { Row } from "./report.js";
import { childScript } from "./build.js";
import { spawnChild, type Child } from "./rpc.js";

/** Sizes of one run: the issue's full sizes, or `--quick` (every scenario, small, under a minute). */
export interface Sizes {
  /** Runs of each timed figure and its floor (alternating); the best of each is reported. */
  repetitions: number;
  records: number;
  pageSize: number;
  deliveries: number;
  latencyChanges: number;
  latencySpanMs: number;
  manySources: number;
  manyPeriodMs: number;
  manyDurationMs: number;
  manyFloorDurationMs: number;
  /** Many sources on 1 and then 3 replicas of one PostgreSQL state. */
  replicaSources: number;
  replicaPeriodMs: number;
  replicaDurationMs: number;
  economyChanges: number;
}

export const FULL: Sizes = {
  repetitions: 3,
  records: 100_000,
  pageSize: 100,
  deliveries: 10_000,
  latencyChanges: 200,
  latencySpanMs: 40_000,
  manySources: 1_000,
  manyPeriodMs: 15_000,
  manyDurationMs: 120_000,
  manyFloorDurationMs: 30_000,
  replicaSources: 3_000,
  replicaPeriodMs: 15_000,
  replicaDurationMs: 120_000,
  economyChanges: 10,
};

export const QUICK: Sizes = {
  repetitions: 1,
  records: 2_000,
  pageSize: 100,
  deliveries: 500,
  latencyChanges: 20,
  latencySpanMs: 3_000,
  manySources: 50,
  manyPeriodMs: 3_000,
  manyDurationMs: 6_000,
  manyFloorDurationMs: 3_000,
  replicaSources: 60,
  replicaPeriodMs: 3_000,
  replicaDurationMs: 9_000,
  economyChanges: 10,
};

export interface Bench {
  sizes: Sizes;
  quick: boolean;
  dir: string;
  fake: Child;
  apiUrl: string;
  receiver: Child;
  receiverUrl: string;
  rows: Row[];
  /** Runs one job in a fresh `pass-child` process (its RSS is the job's own). */
  job<T>(op: string, args: unknown): Promise<T>;
  /** Starts a `daemon-child`. */
  daemon(label: string): Promise<Child>;
  log(message: string): void;
}

/** What a child runs: retrohook (started with the image's Node flags) or a floor, a fake, the naive script. */
export type ChildKind = "retrohook" | "plain";

/**
 * Starts bench child `name` (`pass-child`, `daemon-child`…): built JS under `root`, or via tsx.
 * Children running retrohook get `retrohookFlags`, the Node flags the container image uses.
 */
export function childStarter(dir: string, root: string | undefined, retrohookFlags: string[]): (name: string, label: string, kind: ChildKind) => Promise<Child> {
  let serial = 0;
  return (name, label, kind) => {
    serial += 1;
    const profiles = process.env.BENCH_CPU_PROF;
    const execArgv = [
      ...(kind === "retrohook" ? retrohookFlags : []),
      ...(root ? [] : ["--import", "tsx"]),
      // A folder per child: each of its threads (the baseline writer's too) writes a profile of its own there.
      ...(profiles ? ["--cpu-prof", `--cpu-prof-dir=${join(profiles, `${String(serial).padStart(2, "0")}-${label}`)}`] : []),
    ];
    return spawnChild(childScript(root, name), { logFile: join(dir, `${label}.log`), execArgv });
  };
}

/** The pass-child jobs that run retrohook; the others are floors and the naive script. */
const RETROHOOK_JOBS = new Set(["pass", "deliver"]);

export async function runJob<T>(start: ReturnType<typeof childStarter>, op: string, args: unknown): Promise<T> {
  const child = await start("pass-child", op, RETROHOOK_JOBS.has(op) ? "retrohook" : "plain");
  try {
    return await child.call<T>(op, args);
  } finally {
    await child.stop();
  }
}
