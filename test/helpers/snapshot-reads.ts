import { expect } from "vitest";
import type { ManualClock } from "../../src/clock.js";
import type { EventEnvelope, RecordRef } from "../../src/core/types.js";
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

/**
 * Page marks, the scenario every preset repeats: a baseline pass, a reconcile with nothing
 * changed (it emits nothing and reads no snapshot), then `edit` changes records and returns what
 * the next reconcile must emit (as `summary` writes events). Returns the snapshots that last
 * reconcile read, for the caller to check which pages it compared.
 */
export async function readsOfReconcileAfter(
  run: { store: StateStore; pass(mode?: "incremental" | "reconcile"): Promise<{ events: EventEnvelope[] }> },
  clock: ManualClock,
  summary: (events: EventEnvelope[]) => string[],
  edit: () => string[],
): Promise<string[]> {
  await run.pass();
  const read = snapshotReads(run.store);
  clock.advance(60_000);
  expect((await run.pass("reconcile")).events).toEqual([]);
  expect(read).toEqual([]);
  const expected = edit();
  clock.advance(60_000);
  expect(summary((await run.pass("reconcile")).events)).toEqual(expected);
  return read;
}
