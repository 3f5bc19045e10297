import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { Clock } from "../clock.js";
import type { RetentionConfig } from "../config/types.js";
import type { PrunableKind, StateStore } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import type { Metrics } from "../telemetry/metrics.js";

/** `state.retention` when the config says nothing (docs/decisions/0015). */
export const DEFAULT_RETENTION: RetentionConfig = { events: 30 * 86_400_000, delivery_log: 7 * 86_400_000, dead_letters: 90 * 86_400_000 };

/** The config's `state.retention`, or the defaults (configs built in code may lack `state`). */
export function retentionOf(config: { state?: { retention?: RetentionConfig } }): RetentionConfig {
  return config.state?.retention ?? DEFAULT_RETENTION;
}

/** Dead letters first: the events they kept become prunable in the same sweep. */
const ORDER: PrunableKind[] = ["dead_letters", "delivery_log", "pass_journal", "events"];

/**
 * Most entries one step may read. What bounds a step is its time (`STEP_BUDGET_MS`): the cost of
 * a removed row grows with the state (a 500-row events step cost ~50 ms of CPU with ~80k events
 * kept), so a step stops at its budget rather than after a number of rows.
 */
export const MAX_STEP_ROWS = 500;

/** How long one step may run before it stops and the sweep yields to the event loop (ms). */
export const STEP_BUDGET_MS = 20;

/** Pruning steps remembered, to tell which pass ticks fell due while a step held the loop. */
const STEP_WINDOWS = 64;

/** Test knob: how often the daemon sweeps (ms). */
const SWEEP_EVERY_MS = Number(process.env.RETROHOOK_RETENTION_EVERY_MS ?? 60_000);

export interface RetentionStats {
  policy: RetentionConfig;
  sweeps: number;
  lastSweep: { at: string; ms: number; steps: number; removed: Record<PrunableKind, number>; pagesReclaimed: number } | null;
  /**
   * The longest a single step held the event loop (ms): the most pruning can have delayed a pass
   * tick or a delivery. On SQLite a step is synchronous; on PostgreSQL the loop only sends it.
   */
  maxStepMs: number;
  /** The longest step from start to end, waiting for the database included (ms). */
  maxStepWallMs: number;
  /** The step that held the event loop longest: which, how many rows it might look at, and its CPU time (less than `ms` when the machine is busy). */
  longestStep: { what: string; limit: number; ms: number; cpuMs: number } | null;
  removedTotal: Record<PrunableKind, number>;
  /**
   * Pass ticks as the scheduler fired them, against when they were due: how late they ran, and
   * — for the ticks that fell due while a pruning step held the event loop — how late those ran:
   * the delay pruning caused, measured (issue #26: at most 100 ms).
   */
  ticks: TickLateness;
}

export interface TickLateness {
  count: number;
  maxLateMs: number;
  /** Ticks due while a pruning step ran, and the latest of them (ms after it was due). */
  duringSteps: number;
  maxLateDuringStepMs: number;
}

const zero = (): Record<PrunableKind, number> => ({ events: 0, delivery_log: 0, dead_letters: 0, pass_journal: 0 });

/**
 * Prunes what `state.retention` no longer keeps, in the background: a sweep walks each kind in
 * steps and yields to the event loop between steps, so a pass tick or a delivery waits at most
 * one step. A step stops after `STEP_BUDGET_MS` (or `MAX_STEP_ROWS` entries read); the scheduler
 * reports each tick (`noteTick`), so the delay a step caused a tick is measured, not inferred. After
 * the sweep, free pages go back to the file system in steps of 256 pages.
 */
export class Retention {
  readonly policy: RetentionConfig;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly stats: RetentionStats;
  /** [start, end] (ms since epoch) of the last steps, newest last. */
  private readonly windows: Array<[number, number]> = [];

  constructor(
    private readonly store: StateStore,
    policy: RetentionConfig | undefined,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.policy = policy ?? DEFAULT_RETENTION;
    this.stats = { policy: this.policy, sweeps: 0, lastSweep: null, maxStepMs: 0, maxStepWallMs: 0, longestStep: null, removedTotal: zero(), ticks: { count: 0, maxLateMs: 0, duringSteps: 0, maxLateDuringStepMs: 0 } };
  }

  /**
   * A pass tick due at `dueMs` ran at `firedMs` (the scheduler calls this for every tick): counted
   * against the steps that were holding the event loop when it fell due.
   */
  noteTick(dueMs: number, firedMs: number): void {
    const late = Math.max(0, firedMs - dueMs);
    const ticks = this.stats.ticks;
    ticks.count += 1;
    ticks.maxLateMs = Math.max(ticks.maxLateMs, late);
    if (this.windows.some(([start, end]) => dueMs >= start && dueMs <= end)) {
      ticks.duringSteps += 1;
      ticks.maxLateDuringStepMs = Math.max(ticks.maxLateDuringStepMs, late);
    }
  }

  /**
   * A sweep now, then one every minute. A tick when `runsHere` says no sweeps nothing: of
   * several replicas, only the one holding the `*` lease sweeps (docs/decisions/0013).
   */
  start(everyMs = SWEEP_EVERY_MS, runsHere: () => boolean = () => true): void {
    const tick = (): void => {
      this.running = (runsHere() ? this.sweep() : Promise.resolve())
        .catch((error: unknown) => this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "retention sweep failed; tried again at the next one"))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, everyMs).unref();
        });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  status(): RetentionStats {
    return structuredClone(this.stats);
  }

  /** One full sweep of every kind, then the space given back. */
  async sweep(): Promise<void> {
    const started = performance.now();
    const now = this.clock.now();
    const removed = zero();
    let steps = 0;
    const cutoff: Record<PrunableKind, number> = {
      events: now - this.policy.events,
      pass_journal: now - this.policy.events,
      delivery_log: now - this.policy.delivery_log,
      dead_letters: now - this.policy.dead_letters,
    };
    for (const kind of ORDER) {
      for (;;) {
        if (this.stopped) return;
        const result = await this.timed(kind, () => this.store.pruneStep(kind, cutoff[kind], MAX_STEP_ROWS, STEP_BUDGET_MS));
        steps += 1;
        removed[kind] += result.removed;
        if (result.done) break;
        await yieldToLoop();
      }
    }
    let pages = 0;
    for (;;) {
      if (this.stopped) return;
      const given = await this.timed("reclaim", () => this.store.reclaimSpace(256));
      steps += 1;
      pages += given;
      if (given === 0) break;
      await yieldToLoop();
    }
    this.stats.sweeps += 1;
    this.stats.lastSweep = { at: new Date(now).toISOString(), ms: Math.round(performance.now() - started), steps, removed, pagesReclaimed: pages };
    for (const kind of ORDER) this.stats.removedTotal[kind] += removed[kind];
    for (const kind of ORDER) if (removed[kind] > 0) this.metrics?.pruned.inc({ kind }, removed[kind]);
    // Sizes read every row (in chunks): after the first sweep and every tenth.
    if (this.metrics && this.stats.sweeps % 10 === 1) {
      const sizes = await this.store.stateSizes();
      for (const [kind, size] of Object.entries(sizes.kinds)) this.metrics.stateBytes.set({ kind }, size.bytes);
    }
    const total = ORDER.reduce((n, kind) => n + removed[kind], 0);
    if (total > 0) this.logger.info({ removed, steps, pagesReclaimed: pages, maxStepMs: Math.round(this.stats.maxStepMs) }, `retention: pruned ${total} entries`);
  }

  /**
   * Runs one step: the time until the call returns its promise is the time it held the event
   * loop (all of a SQLite step); the time until the promise settles includes waiting for I/O.
   */
  private async timed<T>(what: string, step: () => Promise<T>): Promise<T> {
    const limit = MAX_STEP_ROWS;
    const cpu0 = process.cpuUsage();
    const startedAt = Date.now();
    const t0 = performance.now();
    const pending = step();
    const held = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    this.windows.push([startedAt, startedAt + held]);
    if (this.windows.length > STEP_WINDOWS) this.windows.shift();
    const result = await pending;
    const wall = performance.now() - t0;
    if (held > this.stats.maxStepMs) {
      this.stats.maxStepMs = held;
      this.stats.longestStep = { what, limit, ms: Math.round(held * 10) / 10, cpuMs: Math.round((cpu.user + cpu.system) / 100) / 10 };
    }
    this.stats.maxStepWallMs = Math.max(this.stats.maxStepWallMs, wall);
    return result;
  }
}
