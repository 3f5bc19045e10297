import { createHash } from "node:crypto";
import { openStateStore } from "../../../src/store/open.js";

/**
 * A read-only look at a state file (the product's own read-only open: an in-memory copy, no
 * lock, nothing written): cursors, snapshots, outbox, dead letters. Used to prove a fault left
 * state as it was.
 */
export interface StatePeek {
  cursors: Record<string, string>;
  snapshots: Record<string, string>;
  /** Pending deliveries by `target/seq`: event id. */
  pending: Record<string, string>;
  /** Why pending deliveries failed last, by `target/seq`. */
  pendingErrors: Record<string, string>;
  events: number;
  deadLetters: Array<{ eventId: string; reason: string }>;
  snapshotDigest: string;
}

export async function peekState(file: string, resources: Array<{ source: string; resource: string }>): Promise<StatePeek> {
  const store = await openStateStore(`sqlite://${file}`, { readOnly: true });
  try {
    const cursors: Record<string, string> = {};
    const snapshots: Record<string, string> = {};
    for (const id of resources) {
      const state = await store.getResourceState(id);
      cursors[`${id.source}/${id.resource}`] = JSON.stringify(state?.cursor ?? null);
      const refs = await store.listSnapshotRefs(id);
      const found = await store.getSnapshots(id, refs);
      // The text too: a baselined record has no fingerprint until it changes.
      for (const [key, snapshot] of found) snapshots[`${id.source}/${id.resource}/${key}`] = `${snapshot.version}:${snapshot.fingerprint}:${createHash("sha1").update(snapshot.json).digest("hex").slice(0, 12)}`;
    }
    const deliveries = await store.listPending();
    const pending = Object.fromEntries(deliveries.map((d) => [`${d.target}/${d.seq}`, d.eventId]));
    const pendingErrors = Object.fromEntries(deliveries.filter((d) => d.lastError).map((d) => [`${d.target}/${d.seq}`, d.lastError!]));
    const dead = (await store.listDeadLetters()).map((d) => ({ eventId: d.eventId, reason: d.reason }));
    const eventIds = new Set([...Object.values(pending), ...dead.map((d) => d.eventId)]);
    const digest = createHash("sha256").update(JSON.stringify(Object.entries(snapshots).sort())).digest("hex").slice(0, 16);
    return { cursors, snapshots, pending, pendingErrors, events: eventIds.size, deadLetters: dead, snapshotDigest: digest };
  } finally {
    await store.close();
  }
}
