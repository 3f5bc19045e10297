import { createHash } from "node:crypto";

/**
 * Rendezvous (highest random weight) hashing: the replica that owns `key` is the one whose
 * hash of (key, replica) is highest. Every replica computes the same answer from the same live
 * set, and a replica joining or leaving moves only the keys it wins or held (about 1/N).
 */
export function rendezvousOwner(key: string, replicas: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = "";
  for (const replica of replicas) {
    const weight = createHash("sha1").update(key).update("\u001f").update(replica).digest("hex");
    if (best === undefined || weight > bestWeight || (weight === bestWeight && replica < best)) {
      best = replica;
      bestWeight = weight;
    }
  }
  return best;
}
