import pino from "pino";
import { describe, expect, it } from "vitest";
import { Replica } from "../../src/cluster/replica.js";
import { systemClock } from "../../src/clock.js";
import { Retention } from "../../src/pipeline/retention.js";
import type { ClusterStore, LeaseRow, StateStore } from "../../src/store/store.js";

/**
 * Replicas share one state: a retention sweep run by each of them walked the same rows three
 * times over. Only the replica holding the `*` lease (the deliveries of removed sources, held
 * by exactly one replica at a time) sweeps; the others' ticks sweep nothing.
 */
const logger = pino({ level: "silent" });

/** A cluster where `*` is held by another live replica, unless the asking replica is granted it. */
function cluster(grantsStar: boolean): ClusterStore {
  const star = (): LeaseRow => ({ source: "*", owner: "other", token: 1, grantedAt: "", expiresAt: "", valid: !grantsStar, expiredForMs: 0, remainingMs: grantsStar ? 0 : 60_000 });
  return {
    join: async () => true,
    heartbeat: async () => true,
    leave: async () => undefined,
    // The holder alone is live when it is granted `*` (it is then the rendezvous winner of every key).
    replicas: async () => [
      { id: "me", host: "h", pid: 1, version: "v", leaseMs: 60_000, startedAt: "", heartbeatAt: "", draining: false, live: true },
      { id: "other", host: "h", pid: 2, version: "v", leaseMs: 60_000, startedAt: "", heartbeatAt: "", draining: false, live: !grantsStar },
    ],
    leases: async () => [star()],
    renew: async (_owner, held) => held.map((h) => h.source),
    acquire: async (_owner, sources) => new Map(sources.filter((s) => s !== "*" || grantsStar).map((s) => [s, { token: 2 }])),
    release: async () => undefined,
  };
}

function countingStore(): { store: StateStore; steps: () => number } {
  let steps = 0;
  const store = {
    pruneStep: async () => {
      steps += 1;
      return { removed: 0, done: true };
    },
    reclaimSpace: async () => 0,
  } as unknown as StateStore;
  return { store, steps: () => steps };
}

async function sweepsOn(replica: Replica): Promise<number> {
  const { store, steps } = countingStore();
  const retention = new Retention(store, undefined, systemClock(), logger);
  retention.start(20, () => replica.sweepsRetention());
  await new Promise((resolve) => setTimeout(resolve, 150));
  await retention.stop();
  return steps();
}

describe("retention sweeps with replicas", () => {
  it("run only on the replica holding the `*` lease", async () => {
    const holder = new Replica({ store: cluster(true), config: { lease: 60_000, replica_id: "me" }, sources: ["s"], logger, env: {} });
    const other = new Replica({ store: cluster(false), config: { lease: 60_000, replica_id: "me" }, sources: ["s"], logger, env: {} });
    await holder.start();
    await other.start();
    try {
      expect(holder.sweepsRetention()).toBe(true);
      expect(other.sweepsRetention()).toBe(false);
      expect(await sweepsOn(holder)).toBeGreaterThan(0);
      expect(await sweepsOn(other)).toBe(0);
    } finally {
      await holder.abandon();
      await other.abandon();
    }
  });
});
