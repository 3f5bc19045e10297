import type { App } from "./app.js";
import { Scheduler } from "./pipeline/scheduler.js";
import type { PassOutcome } from "./pipeline/poll-pass.js";

/**
 * What `run` is once the app is open: the scheduler, the dispatcher and — with `cluster` — the
 * replica's leases (docs/decisions/0013). `create` builds the scheduler (the server shows it);
 * `start` starts delivering, scheduling and leasing; `stop` drains: no new work, running passes
 * and deliveries finish within the grace, then a replica's leases are released at once.
 */
export interface Daemon {
  scheduler: Scheduler;
  start(): Promise<void>;
  stop(graceMs: number): Promise<void>;
}

export function createDaemon(app: App, options: { onPass?: (source: string, outcomes: PassOutcome[], durationMs: number) => void } = {}): Daemon {
  const replica = app.replica;
  const scheduler = new Scheduler(app.sources, app.passDeps({ paced: true }), app.logger, options.onPass ?? ((source, outcomes, ms) => app.recordPass(source, outcomes, ms)), replica);
  if (replica) {
    replica.busy = (source) => scheduler.busy(source);
    // A source taken over (or first acquired) gets one pass at once: the tick it may have missed.
    replica.onAcquired((source) => void scheduler.trigger(source, "incremental"));
  }
  return {
    scheduler,
    async start() {
      await app.dispatcher?.start();
      scheduler.start();
      try {
        await replica?.start();
      } catch (error) {
        await scheduler.stop(0);
        await app.dispatcher?.stop(0);
        throw error;
      }
    },
    async stop(graceMs) {
      const started = Date.now();
      await replica?.beginDrain();
      await scheduler.stop(graceMs);
      await app.dispatcher?.stop(Math.max(0, graceMs - (Date.now() - started)));
      await replica?.finishDrain();
    },
  };
}
