import cron, { type ScheduledTask } from "node-cron";
import type { SourceConfig } from "../config/types.js";
import type { Source } from "../sources/source.js";
import { withFence, type Fence } from "../store/fence.js";
import type { Logger } from "../telemetry/logger.js";
import { runSourcePass, type PassDeps, type PassMode, type PassOutcome } from "./poll-pass.js";

export interface ScheduledSource {
  config: SourceConfig;
  source: Source;
}

/** Replicas: a pass runs only under the lease of its source (docs/decisions/0013). */
export interface LeaseGate {
  fence(source: string): Fence | undefined;
}

export interface SourceRunState {
  running?: { mode: PassMode; since: number };
  reconcileWaiting: boolean;
  lastOutcomes?: PassOutcome[];
  lastPassStartedAt?: number;
  /** Incremental ticks skipped in a row because the pass was still running (0 once one runs). */
  skippedTicks: number;
}

/** A pass running longer than this makes `/readyz` answer 503 (`passes: false`). */
export const OVERLONG_PASS_MS = 30 * 60_000;

/** `OVERLONG_PASS_MS`, or the test-only `RETROHOOK_TEST_OVERLONG_PASS_MS`. */
function overlongLimit(): number {
  const fromEnv = Number(process.env.RETROHOOK_TEST_OVERLONG_PASS_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : OVERLONG_PASS_MS;
}

/**
 * node-cron jobs for `schedule` (incremental) and `reconcile` (complete) in each source's time
 * zone — one job per distinct (expression, time zone, mode), triggering every source that shares
 * it, so a thousand sources on one schedule cost one timer, not two thousand. One pass per source
 * at a time: an incremental tick that finds a pass running is skipped; a reconcile tick waits
 * for it and runs next.
 */
export class Scheduler {
  private readonly tasks = new Map<string, { task: ScheduledTask; sources: string[] }>();
  /** Source name → its job keys. */
  private readonly jobsOf = new Map<string, { incremental: string; reconcile: string }>();
  private readonly entries = new Map<string, ScheduledSource>();
  private readonly states = new Map<string, SourceRunState>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;
  private started = false;
  private tickObserver: ((dueMs: number, firedMs: number) => void) | undefined;

  constructor(
    private readonly sources: ScheduledSource[],
    private readonly deps: PassDeps,
    private readonly logger: Logger,
    private readonly onPass?: (source: string, outcomes: PassOutcome[], durationMs: number) => void,
    private readonly leases?: LeaseGate,
  ) {
    for (const entry of sources) {
      this.states.set(entry.config.name, { reconcileWaiting: false, skippedTicks: 0 });
      this.entries.set(entry.config.name, entry);
    }
  }

  /**
   * Told of every cron tick: when it was due and when it ran (how late the event loop let it
   * run; the retention sweep measures the delay its steps cause with it). node-cron skips a tick
   * more than a second late: reported too, when it is noticed.
   */
  observeTicks(observer: (dueMs: number, firedMs: number) => void): void {
    this.tickObserver = observer;
  }

  /** One incremental pass per source now, then the cron jobs. */
  start(): void {
    this.started = true;
    for (const { config } of this.sources) {
      void this.trigger(config.name, "incremental");
      this.jobsOf.set(config.name, {
        incremental: this.join(config.name, "incremental", config.schedule, config.timezone),
        reconcile: this.join(config.name, "reconcile", config.reconcile, config.timezone),
      });
    }
  }

  /** Adds the source to the job for (mode, expression, time zone), creating the job if needed. */
  private join(source: string, mode: PassMode, expression: string, timezone: string): string {
    const key = `${mode}|${timezone}|${expression}`;
    const job = this.tasks.get(key);
    if (job) {
      job.sources.push(source);
      return key;
    }
    const sources = [source];
    const task = cron.schedule(expression, (context) => {
      this.tickObserver?.(context.date.getTime(), Date.now());
      for (const name of sources) void this.trigger(name, mode);
    }, { timezone, name: key, noOverlap: false });
    if (this.tickObserver) {
      task.on("execution:missed", (context) => {
        this.tickObserver?.(context.date.getTime(), Date.now());
        this.logger.warn({ job: key, due: context.date.toISOString() }, "pass tick missed: the event loop was blocked for over a second when it was due");
      });
    }
    this.tasks.set(key, { task, sources });
    return key;
  }

  /** Started and not stopped (the server's `/readyz`). */
  isRunning(): boolean {
    return this.started && !this.stopped;
  }

  /** Sources whose running pass started more than `limitMs` before `now` (`/readyz`, metrics). */
  overlong(now = Date.now(), limitMs = overlongLimit()): Array<{ source: string; runningMs: number }> {
    const found: Array<{ source: string; runningMs: number }> = [];
    for (const [source, state] of this.states) {
      if (state.running && now - state.running.since > limitMs) found.push({ source, runningMs: now - state.running.since });
    }
    return found;
  }

  state(source: string): SourceRunState | undefined {
    return this.states.get(source);
  }

  nextRuns(source: string): { incremental?: string; reconcile?: string } {
    const jobs = this.jobsOf.get(source);
    const find = (key: string | undefined): string | undefined => (key ? this.tasks.get(key)?.task.getNextRun()?.toISOString() : undefined);
    return { incremental: find(jobs?.incremental), reconcile: find(jobs?.reconcile) };
  }

  /** Whether a pass of the source runs now. */
  busy(source: string): boolean {
    return this.states.get(source)?.running !== undefined;
  }

  /**
   * Runs a pass unless one is running (a reconcile then waits). Resolves when it has run or was
   * skipped. Replicas: only on the owner of the source's lease, every write fenced by it.
   */
  async trigger(name: string, mode: PassMode): Promise<PassOutcome[] | undefined> {
    const entry = this.entries.get(name);
    const state = this.states.get(name);
    if (!entry || !state || this.stopped) return undefined;
    if (state.running) {
      if (mode === "reconcile") state.reconcileWaiting = true;
      else {
        state.skippedTicks += 1;
        const details = { source: name, skippedTicks: state.skippedTicks, runningSince: new Date(state.running.since).toISOString(), mode: state.running.mode };
        // One skip is a slow pass; more in a row is a pass that does not end (the warning repeats).
        if (state.skippedTicks === 1) this.logger.debug(details, "tick skipped: the previous pass is still running");
        else this.logger.warn(details, "tick skipped again: the previous pass is still running (a list that does not end? see max_pass_pages)");
      }
      return undefined;
    }
    state.skippedTicks = 0;
    const fence = this.leases?.fence(name);
    if (this.leases && !fence) return undefined;
    const started = Date.now();
    state.running = { mode, since: started };
    state.lastPassStartedAt = started;
    const pass = fence ? withFence(fence, () => runSourcePass(this.deps, entry.source, entry.config, mode)) : runSourcePass(this.deps, entry.source, entry.config, mode);
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
    for (const { task } of this.tasks.values()) await task.destroy();
    const all = Promise.allSettled([...this.running]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }
}
