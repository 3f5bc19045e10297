import { Worker } from "node:worker_threads";
import type { RecordsOrigin } from "../../core/types.js";
import { StateError, errorMessage } from "../../errors.js";
import type { ResourceId } from "../store.js";
import { workerScript } from "../worker-script.js";

/** One batch of a silent baseline, for the encoder's thread. */
export interface EncodeJob {
  seq: number;
  source: string;
  resource: string;
  /** `<source>/<resource>/`, for errors. */
  where: string;
  origin: RecordsOrigin;
  /** Ref keys of the records, in the order of the origin's array. */
  keys: string[];
}

/** The job's rows as a binary COPY body (binary-array.ts, `baselineCopy`): its first `length` bytes; or why not. */
export interface EncodeReply {
  seq: number;
  copy?: ArrayBuffer;
  length?: number;
  error?: string;
}

/** Writes encoded batches of one resource (binary COPY bodies) in one transaction. */
export type BaselineInsert = (id: ResourceId, bodies: Buffer[]) => Promise<void>;

/** Jobs posted and not yet committed, at most: each holds one response's bytes… */
const MAX_IN_FLIGHT = 8;
/** …and their responses' bytes together, at most (one job is always let through). */
const MAX_BYTES_IN_FLIGHT = 16 * 1024 * 1024;

/** A batch posted to the encoder, in posting order until committed. */
interface Pending {
  id: ResourceId;
  where: string;
  bytes: number;
  encoded: Promise<void>;
  reply?: EncodeReply;
  error?: Error;
}

/**
 * The PostgreSQL counterpart of the SQLite baseline writer: a silent baseline's page costs the
 * pass's thread neither the `JSON.stringify` of its records nor the wait for its commit. A
 * thread turns the response's bytes into the snapshot texts (the same text detection stores)
 * and encodes the rows as a binary COPY body; the main thread then copies the batches into the
 * table in the order posted, while the pass fetches and posts the next pages. The batches of a
 * resource that are encoded by the time their turn comes share one transaction: a commit waits
 * for the disk (a few milliseconds), about as long as fetching a page, so one commit per page
 * would set the pace of the whole baseline.
 *
 * The store waits for `settled()` before any other read or write of a resource's snapshots,
 * page marks or state, and before every enqueue, so the cursor is never stored before the
 * snapshots it covers. A failed job fails the next `settled()` of its resource.
 */
export class PgBaselineWriter {
  private worker: Worker | undefined;
  private posted = 0;
  private inFlight = 0;
  private bytesInFlight = 0;
  private readonly encoding = new Map<number, { resolve: (reply: EncodeReply) => void; reject: (error: Error) => void }>();
  /** Posted and not yet committed, oldest first. */
  private readonly queue: Pending[] = [];
  /** The commits in posting order; never rejects (failures go to `failures`). */
  private tail: Promise<void> = Promise.resolve();
  private readonly failures = new Map<string, Error>();
  private slots: Array<() => void> = [];

  constructor(private readonly insert: BaselineInsert) {}

  /** Queues a batch; returns once it is posted (waiting while MAX_IN_FLIGHT, or MAX_BYTES_IN_FLIGHT, are). */
  async write(id: ResourceId, origin: RecordsOrigin, keys: string[]): Promise<void> {
    const where = prefixOf(id);
    this.throwFailure(where);
    const bytes = origin.bytes.byteLength;
    while (this.inFlight > 0 && (this.inFlight >= MAX_IN_FLIGHT || this.bytesInFlight + bytes > MAX_BYTES_IN_FLIGHT)) await new Promise<void>((wake) => this.slots.push(wake));
    this.inFlight += 1;
    this.bytesInFlight += bytes;
    const entry: Pending = { id, where, bytes, encoded: Promise.resolve() };
    entry.encoded = this.encode({ seq: ++this.posted, source: id.source, resource: id.resource, where, origin, keys }).then(
      (reply) => void (entry.reply = reply),
      (error: Error) => void (entry.error = error),
    );
    this.queue.push(entry);
    this.tail = this.tail.then(() => this.commitNext());
  }

  /** Commits the oldest batch with the batches of its resource already encoded behind it (none left: nothing). */
  private async commitNext(): Promise<void> {
    const head = this.queue[0];
    if (!head) return;
    await head.encoded;
    const group = [head];
    if (!head.error) {
      for (const next of this.queue.slice(1)) {
        if (next.where !== head.where || next.reply === undefined) break;
        group.push(next);
      }
    }
    this.queue.splice(0, group.length);
    try {
      if (head.error) throw head.error;
      await this.insert(head.id, group.map((entry) => Buffer.from(entry.reply!.copy!, 0, entry.reply!.length)));
    } catch (error) {
      if (!this.failures.has(head.where)) this.failures.set(head.where, error instanceof StateError ? error : new StateError(`cannot write the baseline of ${head.where}: ${errorMessage(error)}`));
    } finally {
      for (const entry of group) {
        this.inFlight -= 1;
        this.bytesInFlight -= entry.bytes;
      }
      for (const wake of this.slots.splice(0)) wake();
    }
  }

  /**
   * Resolves once every batch posted before the call is committed (or failed); then throws the
   * failure of a batch of `id`, if one failed since the last call for it.
   */
  async settled(id?: ResourceId): Promise<void> {
    await this.tail;
    if (id) this.throwFailure(prefixOf(id));
  }

  async close(): Promise<void> {
    await this.tail;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private throwFailure(where: string): void {
    const failure = this.failures.get(where);
    if (failure === undefined) return;
    this.failures.delete(where);
    throw failure;
  }

  private encode(job: EncodeJob): Promise<EncodeReply> {
    const worker = this.started();
    return new Promise((resolve, reject) => {
      this.encoding.set(job.seq, { resolve, reject });
      worker.ref();
      worker.postMessage(job);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const [script, options] = workerScript(import.meta.url, "baseline-worker");
    const worker = new Worker(script, options);
    worker.unref();
    worker.on("message", (reply: EncodeReply) => {
      const waiter = this.encoding.get(reply.seq);
      if (!waiter) return;
      this.encoding.delete(reply.seq);
      if (this.encoding.size === 0) worker.unref();
      if (reply.error !== undefined) waiter.reject(new StateError(`cannot write the baseline: ${reply.error}`));
      else waiter.resolve(reply);
    });
    worker.on("error", (error) => this.lost(worker, new StateError(`the baseline encoder failed: ${errorMessage(error)}`)));
    worker.on("exit", (code) => this.lost(worker, new StateError(`the baseline encoder stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** The thread died: its jobs failed; the next job starts a new one. */
  private lost(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const [seq, waiter] of this.encoding) {
      this.encoding.delete(seq);
      waiter.reject(error);
    }
  }
}

const prefixOf = (id: ResourceId): string => `${id.source}/${id.resource}/`;
