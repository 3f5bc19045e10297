import type { RecordRef } from "../../src/core/types.js";
import type { ResourceId, StateStore } from "../../src/store/store.js";

/**
 * From now on, lists every record whose snapshot a pass reads from `store` (page marks: a page
 * not compared reads none). `label` names an entry; the record id by default.
 */
export function snapshotReads(store: StateStore, label: (id: ResourceId, ref: RecordRef) => string = (_, ref) => ref.id): string[] {
  const reads: string[] = [];
  const getSnapshots = store.getSnapshots.bind(store);
  store.getSnapshots = async (id, refs) => {
    reads.push(...refs.map((ref) => label(id, ref)));
    return getSnapshots(id, refs);
  };
  return reads;
}
