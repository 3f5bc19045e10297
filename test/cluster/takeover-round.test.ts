import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Replica } from "../../src/cluster/replica.js";
import type { ClusterStore, LeaseRow } from "../../src/store/store.js";

/**
 * A dead replica's sources are taken over at the first round after its leases expire. Rounds
 * come every third of the lease, so without more the takeover waited up to one more round after
 * the expiry (the cluster chaos suite's takeover p99 went past lease + one interval under load).
 * A replica that sees another's lease expire before its next round runs one round just after it.
 */
/** An acquisition: when, which sources the replica asked for and which it was granted. */
interface Acquisition {
  at: number;
  asked: string[];
  granted: string[];
}

/**
 * A store with one source `s` held by a dead replica until `expiresIn` ms from now: `s` is
 * granted only once that lease expired (then for a new lease), every other source at once;
 * `slowAcquireMs` delays each acquisition. `acquisitions` records every one.
 */
function deadOwnerStore(leaseMs: number, expiresIn: number, slowAcquireMs = 0): { store: ClusterStore; acquisitions: Acquisition[] } {
  let expiresAt = Date.now() + expiresIn;
  const acquisitions: Acquisition[] = [];
  const lease = (): LeaseRow => ({
    source: "s",
    owner: "dead",
    token: 1,
    grantedAt: new Date(0).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
    valid: Date.now() < expiresAt,
    expiredForMs: Math.max(0, Date.now() - expiresAt),
    remainingMs: Math.max(0, expiresAt - Date.now()),
  });
  const store: ClusterStore = {
    join: async () => true,
    heartbeat: async () => true,
    leave: async () => undefined,
    // The dead replica's heartbeat is out of date: only this one is live.
    replicas: async () => [{ id: "me", host: "h", pid: 1, version: "v", leaseMs, startedAt: "", heartbeatAt: "", draining: false, live: true }],
    leases: async () => [lease()],
    renew: async (_owner, held) => held.map((h) => h.source),
    acquire: async (_owner, sources) => {
      if (slowAcquireMs > 0) await new Promise((resolve) => setTimeout(resolve, slowAcquireMs));
      const granted = sources.filter((source) => source !== "s" || Date.now() >= expiresAt);
      acquisitions.push({ at: Date.now(), asked: [...sources], granted });
      if (granted.includes("s")) expiresAt = Date.now() + leaseMs;
      return new Map(granted.map((source) => [source, { token: 2, previousOwner: "dead" }]));
    },
    release: async () => undefined,
  };
  return { store, acquisitions };
}

/** Replica `me` over `store`, polling the one source `s` (DEBUG_TEST=1 shows its log). */
function replicaOver(store: ClusterStore, leaseMs: number): Replica {
  return new Replica({ store, config: { lease: leaseMs, replica_id: "me" }, sources: ["s"], logger: pino({ level: process.env.DEBUG_TEST ? "debug" : "silent" }), env: {}, now: () => Date.now() });
}

/** The first acquisition that asked for (`asked`) or was granted (`granted`) the source `s`. */
const firstWithS = (acquisitions: Acquisition[], side: "asked" | "granted"): Acquisition | undefined => acquisitions.find((a) => a[side].includes("s"));

/**
 * Starts `replica` (moving fake time `startMs` while it starts), checks that `s` was not yet
 * `notYet` (asked for, or granted), moves fake time `thenMs`, and checks that `s` was granted
 * within `withinMs` of the start (`why`). The replica keeps running.
 */
async function expectGrantedWithin(replica: Replica, acquisitions: Acquisition[], timing: { startMs?: number; thenMs: number; notYet: "asked" | "granted"; withinMs: number; why: string }): Promise<void> {
  const started = Date.now();
  const starting = replica.start();
  if (timing.startMs) await vi.advanceTimersByTimeAsync(timing.startMs);
  await starting;
  expect(firstWithS(acquisitions, timing.notYet), `s ${timing.notYet} at the start`).toBeUndefined();
  await vi.advanceTimersByTimeAsync(timing.thenMs);
  const taken = firstWithS(acquisitions, "granted");
  expect(taken, timing.why).toBeDefined();
  expect(taken!.at - started, timing.why).toBeLessThan(timing.withinMs);
}

describe("takeover round", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs a round when the owner of an expired lease stops counting as live (killed between its heartbeat and its renewal)", async () => {
    const leaseMs = 3000;
    // The lease ran out already; the dead owner's heartbeat keeps it live 400 ms more.
    const { store, acquisitions } = deadOwnerStore(leaseMs, -100);
    const liveUntil = Date.now() + 400;
    store.replicas = async () => [
      { id: "me", host: "h", pid: 1, version: "v", leaseMs, startedAt: "", heartbeatAt: "", draining: false, live: true, liveForMs: leaseMs },
      { id: "dead", host: "h", pid: 2, version: "v", leaseMs, startedAt: "", heartbeatAt: "", draining: false, live: Date.now() < liveUntil, liveForMs: Math.max(0, liveUntil - Date.now()) },
    ];
    // "dead" wins the source while it counts as live (rendezvous over both): nobody takes it then.
    const replica = replicaOver(store, leaseMs);
    await expectGrantedWithin(replica, acquisitions, { thenMs: 700, notYet: "granted", withinMs: 700, why: "taken once the owner's heartbeat aged out, before the next regular round (1 s)" });
    await replica.abandon();
  });

  it("runs the takeover round after a round that was still running at the expiry, not a whole interval later", async () => {
    const leaseMs = 3000;
    // The first round's acquisition (of "*") takes 500 ms: the expiry (400 ms) falls inside it.
    const { store, acquisitions } = deadOwnerStore(leaseMs, 400, 500);
    const replica = replicaOver(store, leaseMs);
    await expectGrantedWithin(replica, acquisitions, { startMs: 500, thenMs: 700, notYet: "granted", withinMs: 1100, why: "taken over right after the round in flight at the expiry (the next regular round is 1 s after it)" });
    await replica.abandon();
  });

  it("runs a round just after another replica's lease expires, and takes the source then", async () => {
    const leaseMs = 3000;
    const { store, acquisitions } = deadOwnerStore(leaseMs, 400);
    const replica = replicaOver(store, leaseMs);
    // The first round saw the lease valid for 400 ms more: `s` not even asked for yet ("*" is free, taken).
    await expectGrantedWithin(replica, acquisitions, { thenMs: 600, notYet: "asked", withinMs: 600, why: "taken over before the next regular round (1 s)" });
    expect(replica.holding().map((h) => h.source)).toContain("s");
    await replica.abandon();
  });
});
