import { randomBytes } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import Database from "better-sqlite3";
import Keyv from "keyv";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import { StateError } from "../errors.js";
import { staleChangeMarks } from "../core/page-marks.js";
import { parseRefKey, refKey, type RecordRef, type RecordsOrigin, type Snapshot } from "../core/types.js";
import { crashPoint } from "../testing/crash-points.js";
import { BaselineWriter } from "./baseline-writer.js";
import { baselineOps, decodeSnapshot, encodeSnapshot } from "./snapshot-codec.js";
import { createPrivateFile, SqliteKv, type KvOp } from "./sqlite-kv.js";
import type {
  BudgetState,
  DeadLetter,
  Delivery,
  DeliveryLogEntry,
  EnqueueItem,
  PageMarks,
  ResourceId,
  ResourceState,
  SnapshotWrite,
  SourceState,
  StateStore,
  StoredEvent,
  TargetState,
} from "./store.js";

/**
 * The StateStore over keyv + SQLite. Small JSON records (resource and source state, budgets)
 * go through a `Keyv` with `throwOnErrors`; bulk data (snapshots, outbox, dead letters, the
 * delivery log) uses the adapter's batch and range operations. Key layout:
 *   k:rs/<source>/<resource>   resource state        k:ss/<source>   source state
 *   k:b/<source>               budget                k:ts/<target>   target state
 *   m/epoch, m/seq             metadata
 *   s/<source>/<resource>/<kind>␟<id>   snapshot "<version>\t<fingerprint>\t<json>"
 *   t/<source>/<resource>/<kind>␟<id>   tombstone "<version>"
 *   w/<source>/<resource>/<kind>␟<id>   write sequence of the record's last snapshot change (m/wseq)
 *   p/<source>/<resource>/<page digest> write sequence before the page was last compared
 *   e/<event id>               the event body        q/<target>/<seq>  pending delivery
 *   d/<target>/<seq>           dead letter           l/<target>/<seq>  delivery log
 *   r/<record key>/<seq>       event ids of a record (m/eseq numbers events)
 */

export interface OpenOptions {
  /** Never create or change the file: reads a copy in memory; writes vanish on close. */
  readOnly?: boolean;
  clock?: Clock;
  /** Delivery log entries kept per target (default 1,000). */
  logLimit?: number;
}

const SEQ_WIDTH = 12;
/** Baseline batches smaller than this are written on the calling thread (no writer thread for small resources). */
const BASELINE_THREAD_MIN = 50;
const pad = (n: number): string => String(n).padStart(SEQ_WIDTH, "0");

/** `sqlite:///abs/file`, `sqlite://rel/file` (relative to the cwd), `sqlite::memory:`. */
export function sqlitePathFromUrl(url: string): string {
  if (url === "sqlite::memory:" || url === "sqlite://:memory:") return ":memory:";
  const match = /^sqlite:\/\/(.+)$/.exec(url);
  if (!match?.[1]) throw new StateError(`state.url must look like sqlite:///path/to/file.sqlite, got ${url}`);
  return match[1];
}

export async function openStateStore(url: string, options: OpenOptions = {}): Promise<StateStore> {
  const file = sqlitePathFromUrl(url);
  if (options.readOnly) {
    if (file === ":memory:" || !existsSync(file)) return new SqliteStateStore(new SqliteKv(":memory:"), options, undefined, true);
    const source = new SqliteKv(file, { readOnly: true });
    let copy: Buffer;
    try {
      copy = source.db.serialize();
    } finally {
      source.close();
    }
    // A WAL database image must be marked rollback-journal (header bytes 18-19) to open in memory.
    copy[18] = 1;
    copy[19] = 1;
    const kv = new SqliteKv(":memory:", { db: new Database(copy) });
    return new SqliteStateStore(kv, options, undefined, true);
  }
  const lock = file === ":memory:" ? undefined : acquireLock(file);
  try {
    return new SqliteStateStore(new SqliteKv(file), options, lock, false);
  } catch (error) {
    lock?.close();
    throw error;
  }
}

/** `<real path of the state file>.lock` (the path as given while the file does not exist). */
export function lockPathFor(file: string): string {
  return `${existsSync(file) ? realpathSync(file) : file}.lock`;
}

/**
 * One process owns a state file: an exclusive SQLite lock on `<real path>.lock`, released by the
 * OS on death. The lock is named after the file's resolved path, so a second path to the same
 * file (a symlinked file or folder) meets the same lock.
 */
function acquireLock(file: string): Database.Database {
  let lockFile = `${file}.lock`;
  let db: Database.Database | undefined;
  try {
    new SqliteKv(file).close(); // creates the folder and the file, like the real open below
    lockFile = lockPathFor(file);
    createPrivateFile(lockFile);
    db = new Database(lockFile);
    db.pragma("busy_timeout = 0");
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS owner (pid INTEGER)");
    db.exec("BEGIN EXCLUSIVE");
    db.prepare("DELETE FROM owner").run();
    db.prepare("INSERT INTO owner (pid) VALUES (?)").run(process.pid);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof StateError) throw error;
    const code = (error as { code?: string }).code;
    if (code === "SQLITE_BUSY") {
      throw new StateError(`state file ${file} is in use by another retrohook process (lock ${lockFile}); stop it or use its admin API`);
    }
    throw new StateError(`cannot lock state file ${file}: ${(error as Error).message}`);
  }
}

class SqliteStateStore implements StateStore {
  readonly epoch: string;
  private readonly keyv: Keyv;
  private readonly clock: Clock;
  private readonly logLimit: number;
  /** The snapshot write sequence (`m/wseq`); one process owns the file, so it is kept here too. */
  private writeSeq: number;
  /** Writes large silent baselines on a thread of its own (not for in-memory files). */
  private readonly baselines: BaselineWriter | undefined;

  constructor(
    private readonly kv: SqliteKv,
    options: OpenOptions,
    private readonly lock: Database.Database | undefined,
    readonly readOnly: boolean,
  ) {
    this.clock = options.clock ?? systemClock();
    this.logLimit = options.logLimit ?? 1000;
    this.keyv = new Keyv({ store: kv, namespace: "k", throwOnErrors: true });
    const existing = kv.getRaw("m/epoch");
    this.epoch = existing ?? randomBytes(8).toString("hex");
    if (!existing) kv.write([{ key: "m/epoch", value: this.epoch }]);
    this.writeSeq = Number(kv.getRaw("m/wseq") ?? 0);
    this.baselines = kv.file === ":memory:" || readOnly ? undefined : new BaselineWriter(kv.file);
  }

  /** Waits for baseline writes in flight (see BaselineWriter); throws the failure of one of `id`'s. */
  private async settled(id?: ResourceId): Promise<void> {
    await this.baselines?.settled(id ? prefixOf(id) : undefined);
  }

  // ---- resource and source state ----

  async getResourceState(id: ResourceId): Promise<ResourceState | undefined> {
    await this.settled(id);
    return (await this.keyv.get<ResourceState>(`rs/${id.source}/${id.resource}`)) ?? undefined;
  }

  async putResourceState(id: ResourceId, state: ResourceState): Promise<void> {
    await this.settled(id);
    await this.keyv.set(`rs/${id.source}/${id.resource}`, state);
  }

  async getSourceState(source: string): Promise<SourceState | undefined> {
    return (await this.keyv.get<SourceState>(`ss/${source}`)) ?? undefined;
  }

  async putSourceState(source: string, state: SourceState): Promise<void> {
    await this.keyv.set(`ss/${source}`, state);
  }

  async getTargetState(target: string): Promise<TargetState | undefined> {
    return (await this.keyv.get<TargetState>(`ts/${target}`)) ?? undefined;
  }

  async putTargetState(target: string, state: TargetState): Promise<void> {
    await this.keyv.set(`ts/${target}`, state);
  }

  async getBudget(source: string): Promise<BudgetState | undefined> {
    return (await this.keyv.get<BudgetState>(`b/${source}`)) ?? undefined;
  }

  async putBudget(source: string, budget: BudgetState): Promise<void> {
    await this.keyv.set(`b/${source}`, budget);
  }

  // ---- snapshots ----

  async getSnapshots(id: ResourceId, refs: RecordRef[]): Promise<Map<string, Snapshot>> {
    await this.settled(id);
    const prefix = prefixOf(id);
    const live = this.kv.getManyRaw(refs.map((ref) => `s/${prefix}${refKey(ref)}`));
    const out = new Map<string, Snapshot>();
    const missing: string[] = [];
    for (const ref of refs) {
      const key = refKey(ref);
      const raw = live.get(`s/${prefix}${key}`);
      if (raw === undefined) missing.push(key);
      else out.set(key, decodeSnapshot(raw));
    }
    if (missing.length > 0) {
      const dead = this.kv.getManyRaw(missing.map((key) => `t/${prefix}${key}`));
      for (const key of missing) {
        const raw = dead.get(`t/${prefix}${key}`);
        if (raw !== undefined) out.set(key, { version: Number(raw), fingerprint: "", json: "", gone: true });
      }
    }
    return out;
  }

  async putSnapshots(id: ResourceId, writes: SnapshotWrite[]): Promise<void> {
    await this.settled(id);
    const prefix = prefixOf(id);
    const ops: KvOp[] = [];
    const changeSeq = this.writeSeq + 1;
    let marked = false;
    for (const write of writes) {
      const key = refKey(write);
      if (!write.fresh) {
        ops.push({ key: `w/${prefix}${key}`, value: String(changeSeq) });
        marked = true;
      }
      if (write.snapshot.gone) {
        ops.push({ key: `s/${prefix}${key}`, delete: true });
        ops.push({ key: `t/${prefix}${key}`, value: String(write.snapshot.version) });
      } else {
        ops.push({ key: `s/${prefix}${key}`, value: encodeSnapshot(write.snapshot) });
        if (write.revived) ops.push({ key: `t/${prefix}${key}`, delete: true });
      }
    }
    if (marked) ops.push({ key: "m/wseq", value: String(changeSeq) });
    this.kv.transaction(() => {
      this.kv.write(ops);
      crashPoint("store:snapshots-before-commit");
    });
    if (marked) this.writeSeq = changeSeq;
  }

  async putBaseline(id: ResourceId, origin: RecordsOrigin, refs: RecordRef[]): Promise<void> {
    const prefix = prefixOf(id);
    const keys = refs.map(refKey);
    if (this.baselines && refs.length >= BASELINE_THREAD_MIN) return this.baselines.write(prefix, origin, keys);
    await this.settled(id);
    const ops = baselineOps(prefix, origin, keys);
    this.kv.transaction(() => {
      this.kv.write(ops);
      crashPoint("store:snapshots-before-commit");
    });
  }

  async snapshotSeq(): Promise<number> {
    return this.writeSeq;
  }

  async getPageMarks(id: ResourceId): Promise<PageMarks> {
    await this.settled(id);
    return { pages: this.seqsUnder(`p/${id.source}/${id.resource}/`), changed: this.seqsUnder(`w/${id.source}/${id.resource}/`), seq: this.writeSeq };
  }

  async putPageMarks(id: ResourceId, pages: Map<string, number>, complete: boolean): Promise<void> {
    await this.settled(id);
    const pagePrefix = `p/${id.source}/${id.resource}/`;
    const changePrefix = `w/${id.source}/${id.resource}/`;
    this.kv.transaction(() => {
      if (complete) this.kv.deletePrefix(pagePrefix);
      this.kv.write([...pages].map(([digest, since]) => ({ key: `${pagePrefix}${digest}`, value: String(since) })));
      if (complete) {
        const stale = staleChangeMarks(pages, this.seqsUnder(changePrefix));
        this.kv.write(stale.map((key) => ({ key: `${changePrefix}${key}`, delete: true as const })));
      }
    });
  }

  private seqsUnder(prefix: string): Map<string, number> {
    return new Map(this.kv.range(prefix).map(([key, value]) => [key.slice(prefix.length), Number(value)]));
  }

  async listSnapshotRefs(id: ResourceId): Promise<RecordRef[]> {
    await this.settled(id);
    const prefix = `s/${id.source}/${id.resource}/`;
    return this.kv.keys(prefix).map((key) => parseRefKey(key.slice(prefix.length)));
  }

  async hasSnapshots(id: ResourceId): Promise<boolean> {
    await this.settled(id);
    return this.kv.lastUnder(`s/${id.source}/${id.resource}/`) !== undefined || this.kv.lastUnder(`t/${id.source}/${id.resource}/`) !== undefined;
  }

  async countSnapshots(id: ResourceId): Promise<number> {
    await this.settled(id);
    return this.kv.count(`s/${id.source}/${id.resource}/`);
  }

  async clearResource(id: ResourceId): Promise<void> {
    await this.settled(id);
    this.kv.transaction(() => {
      this.kv.deletePrefix(`s/${id.source}/${id.resource}/`);
      this.kv.deletePrefix(`t/${id.source}/${id.resource}/`);
      this.kv.deletePrefix(`w/${id.source}/${id.resource}/`);
      this.kv.deletePrefix(`p/${id.source}/${id.resource}/`);
    });
    await this.keyv.delete(`rs/${id.source}/${id.resource}`);
  }

  // ---- outbox ----

  async enqueue(items: EnqueueItem[]): Promise<Delivery[]> {
    await this.settled();
    const now = this.clock.now();
    return this.kv.transaction(() => {
      let seq = Number(this.kv.getRaw("m/seq") ?? 0);
      let eventSeq = Number(this.kv.getRaw("m/eseq") ?? 0);
      const created: Delivery[] = [];
      const ops: KvOp[] = [];
      const seen = new Set<string>();
      for (const item of items) {
        const id = item.event.envelope.id;
        if (seen.has(id) || this.kv.getRaw(`e/${id}`) !== undefined) continue;
        seen.add(id);
        eventSeq += 1;
        ops.push({ key: `e/${id}`, value: item.event.body }, { key: `r/${item.recordKey}/${pad(eventSeq)}`, value: id });
        for (const target of item.targets) {
          seq += 1;
          const delivery: Delivery = { seq, target, eventId: id, recordKey: item.recordKey, attempts: 0, nextAttemptAt: now };
          ops.push({ key: `q/${target}/${pad(seq)}`, value: JSON.stringify(delivery) });
          created.push(delivery);
        }
      }
      ops.push({ key: "m/seq", value: String(seq) }, { key: "m/eseq", value: String(eventSeq) });
      this.kv.write(ops);
      crashPoint("store:enqueue-before-commit");
      return created;
    });
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    const body = this.kv.getRaw(`e/${eventId}`);
    return body === undefined ? undefined : { body, envelope: JSON.parse(body) as StoredEvent["envelope"] };
  }

  async listEventIdsForRecord(recordKey: string, limit = 1000): Promise<string[]> {
    return this.kv.range(`r/${recordKey}/`).slice(-limit).map(([, id]) => id);
  }

  async hasEvent(eventId: string): Promise<boolean> {
    return this.kv.getRaw(`e/${eventId}`) !== undefined;
  }

  async listPending(target?: string): Promise<Delivery[]> {
    return this.kv.range(target ? `q/${target}/` : "q/").map(([, value]) => JSON.parse(value) as Delivery);
  }

  async updateDelivery(delivery: Delivery): Promise<void> {
    this.kv.write([{ key: `q/${delivery.target}/${pad(delivery.seq)}`, value: JSON.stringify(delivery) }]);
  }

  /**
   * Acks arriving in the same event-loop turn share one transaction (one WAL commit instead of
   * one per delivery); each promise resolves once its ack is committed.
   */
  async ackDelivery(delivery: Delivery, log: DeliveryLogEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.acks.push({ delivery, log, resolve, reject });
      if (this.acks.length === 1) setImmediate(() => this.commitAcks());
    });
  }

  private acks: Array<{ delivery: Delivery; log: DeliveryLogEntry; resolve: () => void; reject: (error: unknown) => void }> = [];

  private commitAcks(): void {
    const batch = this.acks;
    this.acks = [];
    try {
      this.kv.transaction(() => {
        for (const { delivery, log } of batch) this.kv.write([{ key: `q/${delivery.target}/${pad(delivery.seq)}`, delete: true }, ...this.logOps(log)]);
        crashPoint("store:ack-before-commit");
      });
    } catch (error) {
      for (const ack of batch) ack.reject(error);
      return;
    }
    for (const ack of batch) ack.resolve();
  }

  async deadLetter(delivery: Delivery, dead: Omit<DeadLetter, "seq">, log: DeliveryLogEntry): Promise<void> {
    this.kv.transaction(() => {
      this.kv.write([
        { key: `q/${delivery.target}/${pad(delivery.seq)}`, delete: true },
        { key: `d/${delivery.target}/${pad(delivery.seq)}`, value: JSON.stringify({ ...dead, seq: delivery.seq }) },
        ...this.logOps(log),
      ]);
      crashPoint("store:dead-letter-before-commit");
    });
  }

  async listDeadLetters(target?: string): Promise<DeadLetter[]> {
    return this.kv.range(target ? `d/${target}/` : "d/").map(([, value]) => JSON.parse(value) as DeadLetter);
  }

  async requeueDeadLetters(target?: string, eventId?: string): Promise<Delivery[]> {
    const now = this.clock.now();
    return this.kv.transaction(() => {
      let seq = Number(this.kv.getRaw("m/seq") ?? 0);
      const created: Delivery[] = [];
      const ops: KvOp[] = [];
      for (const [key, value] of this.kv.range(target ? `d/${target}/` : "d/")) {
        const dead = JSON.parse(value) as DeadLetter;
        if (eventId && dead.eventId !== eventId) continue;
        seq += 1;
        const delivery: Delivery = { seq, target: dead.target, eventId: dead.eventId, recordKey: dead.recordKey, attempts: 0, nextAttemptAt: now };
        ops.push({ key, delete: true }, { key: `q/${dead.target}/${pad(seq)}`, value: JSON.stringify(delivery) });
        created.push(delivery);
      }
      ops.push({ key: "m/seq", value: String(seq) });
      this.kv.write(ops);
      return created;
    });
  }

  async requeueEvent(eventId: string, targets: string[], recordKey: string): Promise<Delivery[]> {
    if (!(await this.hasEvent(eventId))) throw new StateError(`no event ${eventId} in state`);
    const now = this.clock.now();
    return this.kv.transaction(() => {
      let seq = Number(this.kv.getRaw("m/seq") ?? 0);
      const created: Delivery[] = targets.map((target) => {
        seq += 1;
        return { seq, target, eventId, recordKey, attempts: 0, nextAttemptAt: now };
      });
      this.kv.write([
        ...created.map((d) => ({ key: `q/${d.target}/${pad(d.seq)}`, value: JSON.stringify(d) })),
        { key: "m/seq", value: String(seq) },
      ]);
      return created;
    });
  }

  async dropPendingExcept(targets: string[]): Promise<Record<string, number>> {
    const keep = new Set(targets);
    const dropped: Record<string, number> = {};
    const ops: KvOp[] = [];
    for (const key of this.kv.keys("q/")) {
      const target = key.slice(2, key.lastIndexOf("/"));
      if (keep.has(target)) continue;
      dropped[target] = (dropped[target] ?? 0) + 1;
      ops.push({ key, delete: true });
    }
    if (ops.length > 0) this.kv.write(ops);
    return dropped;
  }

  // ---- delivery log ----

  async appendLog(entry: DeliveryLogEntry): Promise<void> {
    this.kv.transaction(() => this.kv.write(this.logOps(entry)));
  }

  async listLog(filter: { target?: string; limit?: number }): Promise<DeliveryLogEntry[]> {
    const rows = this.kv.range(filter.target ? `l/${filter.target}/` : "l/").map(([, value]) => JSON.parse(value) as DeliveryLogEntry & { n: number });
    rows.sort((a, b) => b.n - a.n);
    return rows.slice(0, filter.limit ?? 100).map(({ n: _n, ...entry }) => entry);
  }

  /** Must run inside a transaction: reads and bumps the per-target log counter, trims the oldest. */
  private logOps(entry: DeliveryLogEntry): KvOp[] {
    const counterKey = `m/l/${entry.target}`;
    const n = Number(this.kv.getRaw(counterKey) ?? 0) + 1;
    const ops: KvOp[] = [
      { key: counterKey, value: String(n) },
      { key: `l/${entry.target}/${pad(n)}`, value: JSON.stringify({ ...entry, n }) },
    ];
    if (n > this.logLimit) ops.push({ key: `l/${entry.target}/${pad(n - this.logLimit)}`, delete: true });
    return ops;
  }

  async close(): Promise<void> {
    await this.baselines?.close();
    if (this.acks.length > 0 && this.kv.db.open) this.commitAcks();
    this.kv.close();
    if (this.lock?.open) {
      this.lock.close();
    }
  }
}

const prefixOf = (id: ResourceId): string => `${id.source}/${id.resource}/`;
