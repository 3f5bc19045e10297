import { Worker } from "node:worker_threads";
import type { RecordsOrigin } from "../../core/types.js";
import { StateError, errorMessage } from "../../errors.js";
import { workerScript } from "../worker-script.js";

/** One batch of a silent baseline, for the writer's thread. */
export interface BaselineJob {
  seq: number;
  /** `<source>/<resource>/`. */
  prefix: string;
  origin: RecordsOrigin;
  /** Ref keys of the records, in the order of the origin's array. */
  keys: string[];
}

export interface BaselineReply {
  seq: number;
  error?: string;
}

/** Jobs posted and not yet committed, at most: each holds one response's bytes. */
const MAX_IN_FLIGHT = 4;

/**
 * The buffer to move to the writer's thread instead of copying it: the origin's bytes when the
 * caller gave them away and they fill a buffer of their own (a pooled slice shares its buffer
 * with other data, and is copied).
 */
export function movable(origin: RecordsOrigin): ArrayBuffer[] {
  const { bytes } = origin;
  if (!origin.transferable || !(bytes.buffer instanceof ArrayBuffer)) return [];
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.byteLength > 0 ? [bytes.buffer] : [];
}

/**
 * Writes the snapshots of silent baselines on a thread of its own, so a first pass over a
 * large resource costs the pass's thread no `JSON.stringify` and no SQLite time
 * (docs/decisions/0006-performance-tradeoffs.md). Jobs commit one by one in the order posted.
 * The store waits for `settled()` before any other read or write of snapshots or resource
 * state, so there is one writer at a time and the cursor is never stored before the
 * snapshots it covers. A failed job fails the next `settled()` of its resource.
 */
export class BaselineWriter {
  private worker: Worker | undefined;
  private posted = 0;
  private done = 0;
  /** Resource prefix of each job in flight, by seq. */
  private readonly inFlight = new Map<number, string>();
  /** Failures not yet reported, by resource prefix. */
  private readonly failures = new Map<string, Error>();
  private waiters: Array<{ seq: number; wake: () => void }> = [];

  constructor(private readonly file: string) {}

  /** Queues a job; returns once it is posted (waiting while MAX_IN_FLIGHT are). */
  async write(prefix: string, origin: RecordsOrigin, keys: string[]): Promise<void> {
    this.throwFailure(prefix);
    while (this.inFlight.size >= MAX_IN_FLIGHT) await this.reached(this.done + 1);
    const worker = this.started();
    const seq = ++this.posted;
    this.inFlight.set(seq, prefix);
    worker.ref();
    const job: BaselineJob = { seq, prefix, origin: { bytes: origin.bytes, ...(origin.path === undefined ? {} : { path: origin.path }) }, keys };
    worker.postMessage(job, movable(origin));
  }

  /**
   * Resolves once every job posted before the call is committed; then throws the failure of a
   * job of `prefix` (a resource), if one failed since the last call for it.
   */
  async settled(prefix?: string): Promise<void> {
    if (this.done < this.posted) await this.reached(this.posted);
    if (prefix !== undefined) this.throwFailure(prefix);
  }

  private throwFailure(prefix: string): void {
    const failure = this.failures.get(prefix);
    if (failure === undefined) return;
    this.failures.delete(prefix);
    throw failure;
  }

  async close(): Promise<void> {
    await this.settled();
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private reached(seq: number): Promise<void> {
    return new Promise((wake) => this.waiters.push({ seq, wake }));
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const [script, options] = workerScript(import.meta.url, "baseline-worker");
    const worker = new Worker(script, { ...options, workerData: { file: this.file } });
    worker.unref();
    worker.on("message", (reply: BaselineReply) => this.finish(reply.seq, reply.error === undefined ? undefined : new StateError(`cannot write the baseline: ${reply.error}`)));
    worker.on("error", (error) => this.lost(worker, new StateError(`the baseline writer failed: ${errorMessage(error)}`)));
    worker.on("exit", (code) => this.lost(worker, new StateError(`the baseline writer stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private finish(seq: number, error: Error | undefined): void {
    const prefix = this.inFlight.get(seq);
    if (prefix === undefined) return;
    this.inFlight.delete(seq);
    if (error && !this.failures.has(prefix)) this.failures.set(prefix, error);
    this.done = Math.max(this.done, seq);
    if (this.inFlight.size === 0) this.worker?.unref();
    const ready = this.waiters.filter((w) => w.seq <= this.done);
    this.waiters = this.waiters.filter((w) => w.seq > this.done);
    for (const waiter of ready) waiter.wake();
  }

  /** The thread died: its jobs in flight failed; the next job starts a new one. */
  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const seq of [...this.inFlight.keys()]) this.finish(seq, error);
  }
}
