import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { openApp, type App } from "../src/app.js";
import type { Config } from "../src/config/types.js";
import { Scheduler } from "../src/pipeline/scheduler.js";
import { createLogger } from "../src/telemetry/logger.js";
import { serveRpc } from "./rpc.js";

/**
 * The daemon as `retrohook run` assembles it (openApp → Dispatcher.start → Scheduler.start),
 * in its own process so its CPU time and peak RSS are its own. Every finished pass is noted
 * (source, start, duration) for the missed-tick and overlap checks; the parent reads them at the end.
 */

export interface PassNote {
  source: string;
  start: number;
  ms: number;
  mode: string;
  ok: boolean;
  records: number;
  events: number;
  error?: string;
}

let app: App | undefined;
let scheduler: Scheduler | undefined;
const passes: PassNote[] = [];
const waiters: Array<{ count: number; resolve: () => void }> = [];

const MB = 1_048_576;
/** Memory when RSS was highest, sampled every 100 ms. */
let peak = process.memoryUsage();
setInterval(() => {
  const now = process.memoryUsage();
  if (now.rss > peak.rss) peak = now;
}, 100).unref();

const usage = () => {
  const cpu = process.cpuUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: performance.now(),
    rssMb: process.memoryUsage.rss() / MB,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    peak: { rssMb: Math.round(peak.rss / MB), heapTotalMb: Math.round(peak.heapTotal / MB), heapUsedMb: Math.round(peak.heapUsed / MB), externalMb: Math.round(peak.external / MB) },
  };
};

serveRpc({
  /** `replicaId`: with `cluster` in the config, one replica of several, wired as `run` wires it. */
  start: async (args: { config: Config; replicaId?: string }) => {
    const logger = createLogger();
    if (args.replicaId) process.env.RETROHOOK_REPLICA_ID = args.replicaId;
    app = await openApp(args.config, { logger, replica: args.replicaId !== undefined });
    const opened = app;
    scheduler = new Scheduler(opened.sources, opened.passDeps(), logger, (source, outcomes, ms) => {
      opened.recordPass(source, outcomes, ms);
      const failed = outcomes.find((o) => !o.ok);
      passes.push({
        source,
        start: Date.now() - ms,
        ms,
        mode: outcomes[0]?.mode ?? "?",
        ok: !failed,
        records: outcomes.reduce((n, o) => n + o.records, 0),
        events: outcomes.reduce((n, o) => n + o.events, 0),
        ...(failed?.error ? { error: failed.error } : {}),
      });
      for (const waiter of waiters.filter((w) => passes.length >= w.count)) waiter.resolve();
    }, opened.replica);
    const replica = opened.replica;
    if (replica) {
      const scheduled = scheduler;
      replica.busy = (source) => scheduled.busy(source);
      replica.onAcquired((source) => void scheduled.trigger(source, "incremental"));
    }
    await opened.dispatcher?.start();
    const before = usage();
    scheduler.start();
    await replica?.start();
    return { ...before, startedAt: Date.now() };
  },
  passCount: () => passes.length,
  /** CPU time, wall time and memory now, for a measurement window. */
  usage: () => usage(),
  /** Resolves once `count` passes have finished in total. */
  waitForPasses: (args: { count: number; timeoutMs: number }) =>
    new Promise<number>((resolve, reject) => {
      if (passes.length >= args.count) return resolve(passes.length);
      const timer = setTimeout(() => reject(new Error(`only ${passes.length} of ${args.count} passes after ${args.timeoutMs} ms`)), args.timeoutMs);
      waiters.push({
        count: args.count,
        resolve: () => {
          clearTimeout(timer);
          resolve(passes.length);
        },
      });
    }),
  passes: () => passes,
  /** Diagnostics: a heap snapshot written into `dir` (after a full GC when exposed). */
  heapSnapshot: (args: { dir: string }) => writeHeapSnapshot(join(args.dir, `daemon-${Date.now()}.heapsnapshot`)),
  stop: async () => {
    const final = usage();
    await app?.replica?.beginDrain();
    await scheduler?.stop(5_000);
    await app?.dispatcher?.stop(2_000);
    await app?.replica?.finishDrain();
    await app?.close();
    return final;
  },
});
