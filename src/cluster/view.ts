import type { ClusterStore } from "../store/store.js";
import type { Replica } from "./replica.js";

/** What `status` and `GET /api/cluster` show of the replicas (docs/decisions/0013). */
export interface ClusterView {
  /** The replica that answered. */
  replica: string;
  leaseMs: number;
  replicas: Array<{ id: string; host: string; pid: number; version: string; startedAt: string; heartbeatAt: string; draining: boolean; live: boolean; sources: string[] }>;
  /** Source → its lease (a lease past `expiresAt` is free to take). */
  owners: Record<string, { owner: string; token: number; expiresAt: string; valid: boolean }>;
}

export async function clusterView(store: ClusterStore, replica: Replica): Promise<ClusterView> {
  const [replicas, leases] = await Promise.all([store.replicas(), store.leases()]);
  const owners: ClusterView["owners"] = {};
  for (const lease of leases) owners[lease.source] = { owner: lease.owner, token: lease.token, expiresAt: lease.expiresAt, valid: lease.valid };
  return {
    replica: replica.id,
    leaseMs: replica.leaseMs,
    replicas: replicas.map((r) => ({
      id: r.id,
      host: r.host,
      pid: r.pid,
      version: r.version,
      startedAt: r.startedAt,
      heartbeatAt: r.heartbeatAt,
      draining: r.draining,
      live: r.live,
      sources: leases.filter((l) => l.valid && l.owner === r.id).map((l) => l.source),
    })),
    owners,
  };
}
