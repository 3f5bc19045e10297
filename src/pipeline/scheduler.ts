import cron, { type ScheduledTask } from "node-cron";
import type { SourceConfig } from "../config/types.js";
import type { Source } from "../sources/source.js";
import type { Logger } from "../telemetry/logger.js";
import { runSourcePass, type PassDeps, type PassMode, type PassOutcome } from "./poll-pass.js";

export interface ScheduledSource {
  config: SourceConfig;
  source: Source;
}

export interface SourceRunState {
  running?: { mode: PassMode; since: number };
  reconcileWaiting: boolean;
  lastOutcomes?: PassOutcome[];
  lastPassStartedAt?: number;
}

/**
 * One node-cron job per source for `schedule` (incremental) and one for `reconcile` (complete),
 * each in the source's time zone. One pass per source at a time: an incremental tick that finds
 * a pass running is skipped; a reconcile tick waits for it and runs next.
 */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly states = new Map<string, SourceRunState>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;
  private started = false;

  constructor(
    private readonly sources: ScheduledSource[],
    private readonly deps: PassDeps,
    private readonly logger: Logger,
    private readonly onPass?: (source: string, outcomes: PassOutcome[], durationMs: number) => void,
  ) {
    for (const { config } of sources) this.states.set(config.name, { reconcileWaiting: false });
  }

  /** One incremental pass per source now, then the cron jobs. */
  start(): void {
    this.started = true;
    for (const { config } of this.sources) {
      void this.trigger(config.name, "incremental");
      const options = { timezone: config.timezone, name: `${config.name}:schedule`, noOverlap: false };
      this.tasks.push(cron.schedule(config.schedule, () => void this.trigger(config.name, "incremental"), options));
      this.tasks.push(cron.schedule(config.reconcile, () => void this.trigger(config.name, "reconcile"), { ...options, name: `${config.name}:reconcile` }));
    }
  }

  /** Started and not stopped (the server's `/readyz`). */
  isRunning(): boolean {
    return this.started && !this.stopped;
  }

  state(source: string): SourceRunState | undefined {
    return this.states.get(source);
  }

  nextRuns(source: string): { incremental?: string; reconcile?: string } {
    const find = (name: string): string | undefined => this.tasks.find((task) => task.name === name)?.getNextRun()?.toISOString();
    return { incremental: find(`${source}:schedule`), reconcile: find(`${source}:reconcile`) };
  }

  /** Runs a pass unless one is running (a reconcile then waits). Resolves when it has run or was skipped. */
  async trigger(name: string, mode: PassMode): Promise<PassOutcome[] | undefined> {
    const entry = this.sources.find((s) => s.config.name === name);
    const state = this.states.get(name);
    if (!entry || !state || this.stopped) return undefined;
    if (state.running) {
      if (mode === "reconcile") state.reconcileWaiting = true;
      else this.logger.debug({ source: name }, "tick skipped: the previous pass is still running");
      return undefined;
    }
    const started = Date.now();
    state.running = { mode, since: started };
    state.lastPassStartedAt = started;
    const pass = runSourcePass(this.deps, entry.source, entry.config, mode);
    this.running.add(pass);
    try {
      const outcomes = await pass;
      state.lastOutcomes = outcomes;
      this.onPass?.(name, outcomes, Date.now() - started);
      return outcomes;
    } catch (error) {
      this.logger.error({ source: name, err: error instanceof Error ? error.message : String(error) }, "pass crashed");
      return undefined;
    } finally {
      this.running.delete(pass);
      state.running = undefined;
      if (state.reconcileWaiting && !this.stopped) {
        state.reconcileWaiting = false;
        void this.trigger(name, "reconcile");
      }
    }
  }

  /** Stops scheduling; waits for running passes up to `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    for (const task of this.tasks) await task.destroy();
    const all = Promise.allSettled([...this.running]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }
}
