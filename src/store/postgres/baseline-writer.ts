import type { RecordsOrigin } from "../../core/types.js";
import { StateError, errorMessage } from "../../errors.js";
import { currentFence, withFence, withoutFence, type Fence } from "../fence.js";
import { baselineElements } from "../snapshot-codec.js";
import type { ResourceId } from "../store.js";
import { baselineCopy } from "./binary-array.js";

/** Writes encoded batches of one resource (binary COPY bodies) in one transaction. */
export type BaselineInsert = (id: ResourceId, bodies: Buffer[]) => Promise<void>;

/** Batches posted and not yet committed, at most… */
const MAX_IN_FLIGHT = 8;
/** …and their COPY bodies together, at most (one batch is always let through). */
const MAX_BYTES_IN_FLIGHT = 16 * 1024 * 1024;

/** A batch encoded, in posting order until committed. */
interface Pending {
  id: ResourceId;
  where: string;
  body: Buffer;
  /** The fence of the pass that wrote it (a replica's pass): its commit is checked against it. */
  fence: Fence | undefined;
}

/**
 * The PostgreSQL counterpart of the SQLite baseline writer: a silent baseline's page costs the
 * pass neither the `JSON.stringify` of its records nor the wait for its commit. The page's
 * texts are taken from the response's bytes (snapshot-codec.ts: most elements are copied as
 * they are, without being parsed) into a binary COPY body; the batches are then copied into the
 * table in the order posted, while the pass fetches and posts the next pages. The batches of a
 * resource waiting when their turn comes share one transaction: a commit waits for the disk (a
 * few milliseconds), about as long as fetching a page, so one commit per page would set the
 * pace of the whole baseline.
 *
 * On a replica each batch commits under the fence of the pass that wrote it (its lease token,
 * checked in the transaction), not that of the write whose turn happens to run the commit.
 *
 * The store waits for `settled()` before any other read or write of a resource's snapshots,
 * page marks or state, and before every enqueue, so the cursor is never stored before the
 * snapshots it covers. A failed batch fails the next `settled()` of its resource.
 */
export class PgBaselineWriter {
  private inFlight = 0;
  private bytesInFlight = 0;
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
    const body = baselineCopy(id.source, id.resource, keys, baselineElements(origin, keys.length, where));
    while (this.inFlight > 0 && (this.inFlight >= MAX_IN_FLIGHT || this.bytesInFlight + body.length > MAX_BYTES_IN_FLIGHT)) await new Promise<void>((wake) => this.slots.push(wake));
    this.throwFailure(where);
    this.inFlight += 1;
    this.bytesInFlight += body.length;
    this.queue.push({ id, where, body, fence: currentFence() });
    this.tail = this.tail.then(() => this.commitNext());
  }

  /** Commits the oldest batch with the batches of its resource queued behind it (none left: nothing). */
  private async commitNext(): Promise<void> {
    const head = this.queue[0];
    if (!head) return;
    let count = 1;
    while (count < this.queue.length && this.queue[count]!.where === head.where && this.queue[count]!.fence === head.fence) count += 1;
    const group = this.queue.splice(0, count);
    try {
      // Under the fence of the pass that wrote the batches, whichever write's turn runs this.
      const bodies = group.map((entry) => entry.body);
      await (head.fence ? withFence(head.fence, () => this.insert(head.id, bodies)) : withoutFence(() => this.insert(head.id, bodies)));
    } catch (error) {
      if (!this.failures.has(head.where)) this.failures.set(head.where, error instanceof StateError ? error : new StateError(`cannot write the baseline of ${head.where}: ${errorMessage(error)}`));
    } finally {
      for (const entry of group) {
        this.inFlight -= 1;
        this.bytesInFlight -= entry.body.length;
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
  }

  private throwFailure(where: string): void {
    const failure = this.failures.get(where);
    if (failure === undefined) return;
    this.failures.delete(where);
    throw failure;
  }
}

const prefixOf = (id: ResourceId): string => `${id.source}/${id.resource}/`;
