import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import type { ClusterConfig } from "../config/types.js";
import { rendezvousOwner } from "../core/rendezvous.js";
import { StateError, errorMessage } from "../errors.js";
import { withoutFence, type Fence } from "../store/fence.js";
import type { ClusterStore, HeldLease, ReplicaInfo } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import type { Metrics } from "../telemetry/metrics.js";
import { packageVersion } from "../version.js";

/** A pass went on after its replica lost the lease (paused, cut off): it stops before its next request. */
export class LeaseLostError extends StateError {
  override name = "LeaseLostError";
  constructor(fence: Fence) {
    super(`replica ${fence.owner} no longer holds the lease on source ${fence.source} (token ${fence.token}): the pass stops; the owner polls it`);
  }
}

/** The source part of a record key (`source/resource/kind␟id`). */
export function sourceOfRecordKey(recordKey: string): string {
  const slash = recordKey.indexOf("/");
  return slash < 0 ? recordKey : recordKey.slice(0, slash);
}

/**
 * The lease on deliveries of sources no longer in the config (a removed source's pending
 * deliveries still go out): spread like a source. Not a valid source name.
 */
export const ORPHANS = "*";

/** This replica's id: RETROHOOK_REPLICA_ID, else `cluster.replica_id`, else `<host name>-<pid>`. */
export function replicaId(config: ClusterConfig, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.RETROHOOK_REPLICA_ID?.trim();
  if (fromEnv) {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(fromEnv)) throw new StateError(`RETROHOOK_REPLICA_ID "${fromEnv}": expected letters, digits, \`.\`, \`_\` and \`-\` (at most 100)`);
    return fromEnv;
  }
  return config.replica_id ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 80)}-${process.pid}`;
}

export interface ReplicaOptions {
  store: ClusterStore;
  config: ClusterConfig;
  /** Configured source names (each one lease). */
  sources: string[];
  logger: Logger;
  metrics?: Metrics;
  /** Whether a pass of the source runs now: a lease is handed over only between passes. */
  busy?: (source: string) => boolean;
  env?: NodeJS.ProcessEnv;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
}

interface Held {
  token: number;
  /** Local monotonic time the lease is surely still valid until (before the database's expiry). */
  until: number;
}

/**
 * One replica's view of the cluster (docs/decisions/0013): heartbeat, lease renewal and
 * acquisition every third of the lease, by rendezvous hashing over the live replicas.
 *
 * The local validity of a lease (`until`) is counted from the moment the renewal was sent, on a
 * monotonic clock, minus a tenth of the lease: it always ends before the database's expiry. It
 * only decides whether to START work (a pass, a vendor request, a delivery); every state write
 * of a pass is checked against the database's lease in its own transaction (the fence).
 */
export class Replica {
  readonly id: string;
  readonly leaseMs: number;
  private readonly info: ReplicaInfo;
  private readonly held = new Map<string, Held>();
  /** Leases whose pending deliveries were read from the outbox after they were granted. */
  private readonly loaded = new Set<string>();
  /** Local time a lease not ours was first seen free (a source its rendezvous owner does not take). */
  private readonly freeSince = new Map<string, number>();
  private readonly keys: string[];
  private readonly acquiredListeners: Array<(source: string) => void> = [];
  private readonly lostListeners: Array<(source: string) => void> = [];
  private readonly roundListeners: Array<() => void> = [];
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  /** An extra round just after another replica's lease expires (takeover without waiting a whole round). */
  private soon?: NodeJS.Timeout;
  private rounding?: Promise<void>;
  /** A takeover round was asked while a round ran: one more runs after it. */
  private again = false;
  private draining = false;
  private stopped = false;
  /** Live replica ids at the last round. */
  live: string[] = [];
  /** Whether a pass of the source runs now (set by the scheduler's owner): hand over only between passes. */
  busy: (source: string) => boolean;

  constructor(private readonly options: ReplicaOptions) {
    this.id = replicaId(options.config, options.env);
    this.leaseMs = options.config.lease;
    this.now = options.now ?? (() => performance.now());
    this.info = { id: this.id, host: hostname(), pid: process.pid, version: packageVersion(), instance: randomBytes(8).toString("hex"), leaseMs: this.leaseMs };
    this.keys = [...new Set([...options.sources, ORPHANS])];
    this.busy = options.busy ?? (() => false);
  }

  onAcquired(listener: (source: string) => void): void {
    this.acquiredListeners.push(listener);
  }

  onLost(listener: (source: string) => void): void {
    this.lostListeners.push(listener);
  }

  /** After every round (the dispatcher re-reads the outbox: deliveries other replicas wrote). */
  onRound(listener: () => void): void {
    this.roundListeners.push(listener);
  }

  /**
   * Joins: waits (up to two leases) while another live process uses this id — a restarted
   * replica whose previous run has not aged out yet — then runs the first round and the timer.
   */
  async start(): Promise<void> {
    const deadline = this.now() + 2 * this.leaseMs + 1000;
    for (;;) {
      if (await this.options.store.join(this.info)) break;
      if (this.now() > deadline) {
        throw new StateError(`replica id "${this.id}" is used by another live retrohook replica; give each replica its own (RETROHOOK_REPLICA_ID or cluster.replica_id)`);
      }
      this.options.logger.warn({ replica: this.id }, "replica id in use by a live replica (a previous run not aged out yet?): waiting");
      await new Promise((resolve) => setTimeout(resolve, Math.max(200, this.leaseMs / 3)));
    }
    this.options.logger.info({ replica: this.id, leaseMs: this.leaseMs }, "joined the cluster");
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** The fence for a pass of `source` when this replica holds its lease now. */
  fence(source: string): Fence | undefined {
    const held = this.held.get(source);
    if (!held || held.until <= this.now()) return undefined;
    return { source, token: held.token, owner: this.id, rejected: () => this.options.metrics?.fencingRejections.inc({ source }) };
  }

  /** Throws before a vendor request of a pass whose lease this replica no longer holds. */
  checkFence(fence: Fence | undefined): void {
    if (fence && !this.valid(fence)) throw new LeaseLostError(fence);
  }

  /** Whether `fence` is still this replica's current, locally valid lease. */
  valid(fence: Fence): boolean {
    const held = this.held.get(fence.source);
    return held !== undefined && held.token === fence.token && held.until > this.now();
  }

  /**
   * Whether this replica may start a delivery of `source` now (`configured`: a source in the
   * config) that may take `forMs`: `no` without the lease (the delivery is left to its owner);
   * `wait` while the lease is new and the outbox not yet read since (an earlier delivery of a
   * record may be there), or when less than `forMs` of the lease is surely left (an attempt must
   * end before another replica could take the source over).
   */
  delivers(source: string, configured: boolean, forMs = 0): "yes" | "wait" | "no" {
    const key = configured ? source : ORPHANS;
    const held = this.held.get(key);
    const now = this.now();
    if (!held || held.until <= now) return "no";
    return this.loaded.has(key) && held.until - now > forMs ? "yes" : "wait";
  }

  /** The outbox was read after these leases were granted: their deliveries may go. */
  markLoaded(sources: Iterable<string>): void {
    for (const source of sources) if (this.held.has(source)) this.loaded.add(source);
  }

  /** Whether this replica holds the `*` lease now: of several replicas, only that one runs the retention sweeps. */
  sweepsRetention(): boolean {
    const held = this.held.get(ORPHANS);
    return held !== undefined && held.until > this.now();
  }

  /** Sources held now (the admin API, metrics). */
  holding(): Array<{ source: string; token: number }> {
    return [...this.held].map(([source, h]) => ({ source, token: h.token }));
  }

  /**
   * One round, never two at once. `fresh`: the round must read the leases after now (the
   * takeover round at another's expiry) — asked while a round runs, one more runs after it.
   */
  tick(fresh = false): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.rounding) {
      if (fresh) this.again = true;
      return this.rounding;
    }
    this.rounding = withoutFence(() => this.round())
      .catch((error: unknown) => this.options.logger.error({ replica: this.id, err: errorMessage(error) }, "cluster round failed (leases are kept until they run out)"))
      .finally(() => {
        this.rounding = undefined;
        if (this.again) {
          this.again = false;
          void this.tick();
        }
      });
    return this.rounding;
  }

  private async round(): Promise<void> {
    const { store, logger, metrics } = this.options;
    this.expireLocally();
    const sent = this.now();
    if (!(await store.heartbeat(this.info, this.draining))) {
      logger.error({ replica: this.id }, "another live process took this replica id: holding nothing");
      for (const source of [...this.held.keys()]) this.lose(source);
      return;
    }
    const list: HeldLease[] = this.holding();
    if (list.length > 0) {
      const renewed = new Set(await store.renew(this.id, list, this.leaseMs));
      for (const { source, token } of list) {
        const held = this.held.get(source);
        if (!held || held.token !== token) continue;
        if (renewed.has(source)) held.until = this.validUntil(sent);
        else {
          logger.warn({ replica: this.id, source, token }, "lease lost: another replica took it over or it ran out");
          metrics?.leasesLost.inc();
          this.lose(source);
        }
      }
    }
    if (this.draining) return;
    // Both read after the heartbeat and renewal (a dead owner's heartbeat is older than its last renewal).
    const [replicas, leaseRows] = await Promise.all([store.replicas(), store.leases()]);
    this.live = replicas.filter((r) => r.live || r.id === this.id).map((r) => r.id);
    metrics?.replicasLive.set(this.live.length);
    const leases = new Map(leaseRows.map((lease) => [lease.source, lease]));
    this.roundAtExpiry(leases.values(), replicas);
    const handOver: string[] = [];
    const wanted: string[] = [];
    for (const source of this.keys) {
      const mine = rendezvousOwner(source, this.live) === this.id;
      if (this.held.has(source)) {
        // A replica that joined wins this source now: hand it over between passes.
        if (!mine && !this.busy(source)) handOver.push(source);
        continue;
      }
      const lease = leases.get(source);
      if (lease?.valid) {
        this.freeSince.delete(source);
        continue;
      }
      // Free, or expired: the rendezvous winner takes it; anyone does once it stayed free a whole lease.
      const firstFree = this.freeSince.get(source) ?? sent;
      this.freeSince.set(source, firstFree);
      if (mine || (lease?.expiredForMs ?? 0) >= this.leaseMs || sent - firstFree >= this.leaseMs) wanted.push(source);
    }
    if (handOver.length > 0) await this.release(handOver, "handed over to the replica that now wins them");
    if (this.stopped || this.draining || wanted.length === 0) {
      metrics?.leasesHeld.set(this.held.size);
      for (const listener of this.roundListeners) listener();
      return;
    }
    const asked = this.now();
    const grants = await store.acquire(this.id, wanted, this.leaseMs);
    for (const [source, grant] of grants) {
      this.freeSince.delete(source);
      this.loaded.delete(source);
      this.held.set(source, { token: grant.token, until: this.validUntil(asked) });
      metrics?.leaseGrants.inc();
      const takeover = grant.previousOwner !== undefined && grant.previousOwner !== this.id;
      if (takeover) metrics?.leaseTakeovers.inc();
      logger.info({ replica: this.id, source, token: grant.token, previousOwner: grant.previousOwner }, takeover ? "lease taken over" : "lease acquired");
    }
    metrics?.leasesHeld.set(this.held.size);
    for (const source of grants.keys()) for (const listener of this.acquiredListeners) listener(source);
    for (const listener of this.roundListeners) listener();
  }

  /**
   * A dead owner's leases are taken over at the first round after they expire: when one of
   * another replica's leases expires before the next regular round, one more round runs just
   * after it (the owner's heartbeat, taken before its renewal, is then out of date too, so the
   * rendezvous winner among the live replicas takes the source at once). A lease already expired
   * whose owner still counts as live (killed between its heartbeat and its renewal) gets that
   * round when the owner's heartbeat ages out.
   */
  private roundAtExpiry(leases: Iterable<{ owner: string; valid: boolean; remainingMs: number }>, replicas: ReadonlyArray<{ id: string; live: boolean; liveForMs?: number }>): void {
    const interval = Math.max(100, Math.floor(this.leaseMs / 3));
    const liveFor = new Map(replicas.filter((r) => r.live && r.liveForMs !== undefined).map((r) => [r.id, r.liveForMs!]));
    let soonest = Number.POSITIVE_INFINITY;
    for (const lease of leases) {
      if (lease.owner === this.id) continue;
      if (lease.valid) soonest = Math.min(soonest, lease.remainingMs);
      // Expired, but its owner's last heartbeat still counts it live (killed between its
      // heartbeat and its renewal): the source is free for the others once that heartbeat ages out.
      else if (liveFor.has(lease.owner)) soonest = Math.min(soonest, liveFor.get(lease.owner)!);
    }
    if (this.soon) clearTimeout(this.soon);
    this.soon = undefined;
    if (soonest >= interval || this.stopped || this.draining) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.tick(true);
    }, soonest + 50);
    this.soon.unref();
  }

  private validUntil(sent: number): number {
    return sent + this.leaseMs - Math.max(100, Math.floor(this.leaseMs / 10));
  }

  /** Leases whose local validity ran out (renewals failing: the database is away) are dropped. */
  private expireLocally(): void {
    const now = this.now();
    for (const [source, held] of [...this.held]) {
      if (held.until > now) continue;
      this.options.logger.warn({ replica: this.id, source, token: held.token }, "lease ran out before it could be renewed");
      this.options.metrics?.leasesLost.inc();
      this.lose(source);
    }
  }

  private lose(source: string): void {
    this.loaded.delete(source);
    if (!this.held.delete(source)) return;
    this.options.metrics?.leasesHeld.set(this.held.size);
    for (const listener of this.lostListeners) listener(source);
  }

  private async release(sources: string[], why: string): Promise<void> {
    const list = sources.flatMap((source) => {
      const held = this.held.get(source);
      return held ? [{ source, token: held.token }] : [];
    });
    if (list.length === 0) return;
    // Forgotten first: nothing new starts under a lease being given back.
    for (const { source } of list) this.lose(source);
    await this.options.store.release(this.id, list);
    this.options.logger.info({ replica: this.id, sources: list.map((l) => l.source) }, `leases released: ${why}`);
  }

  /**
   * SIGTERM: marks the replica draining (the others stop counting it), then — once the caller
   * has let running passes finish — releases every lease at once and leaves.
   */
  async beginDrain(): Promise<void> {
    this.draining = true;
    await this.rounding;
    await withoutFence(() => this.options.store.heartbeat(this.info, true)).catch((error: unknown) => this.options.logger.warn({ err: errorMessage(error) }, "could not mark the replica draining"));
  }

  async finishDrain(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    await this.rounding;
    try {
      await withoutFence(() => this.release([...this.held.keys()], "draining (stopping)"));
      await withoutFence(() => this.options.store.leave(this.info, 24 * 60 * 60_000));
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, "could not release the leases: they run out within the lease");
    }
  }

  /** Stops the timer without releasing anything (the leases run out): tests, a failed start. */
  async abandon(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    await this.rounding;
  }
}
