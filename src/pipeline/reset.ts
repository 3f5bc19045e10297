import type { SourceConfig } from "../config/types.js";
import { detectDeletions } from "../core/detect.js";
import { typePrefixFor } from "../core/naming.js";
import { refKey } from "../core/types.js";
import type { Delivery, StateStore } from "../store/store.js";
import { routeEvents, type RouteEvent } from "./route-events.js";

export interface ResetResult {
  resources: string[];
  /** `deleted` events released from held deletions (with --accept-deletes). */
  released: number;
  deliveries: Delivery[];
}

/**
 * `reset`: with `acceptDeletes`, emits the held deletions of the resource(s) and keeps
 * everything else; without, forgets snapshots, cursor and suspensions so the next pass starts
 * over with the source's `start` policy (a new generation keeps event ids distinct), and lifts
 * the source's suspension and back-off.
 */
export async function resetResources(
  store: StateStore,
  source: SourceConfig,
  resource: string | undefined,
  options: { acceptDeletes: boolean; now: number; route: RouteEvent },
): Promise<ResetResult> {
  const names = resource ? [resource] : source.resources.map((r) => r.name);
  const result: ResetResult = { resources: names, released: 0, deliveries: [] };
  for (const name of names) {
    const id = { source: source.name, resource: name };
    if (!options.acceptDeletes) {
      await store.clearResource(id);
      continue;
    }
    const state = await store.getResourceState(id);
    if (!state?.held) continue;
    const snapshots = await store.getSnapshots(id, state.held.records);
    const gone = state.held.records.flatMap((ref) => {
      const snapshot = snapshots.get(refKey(ref));
      return snapshot && !snapshot.gone ? [{ ref, snapshot }] : [];
    });
    const config = source.resources.find((r) => r.name === name);
    const rules = { source: source.name, resource: name, typePrefix: typePrefixFor(name, config?.type_prefix), ignoreFields: config?.ignore_fields ?? [], transitions: [] };
    const detection = detectDeletions(gone, rules, { epoch: store.epoch, generation: state.generation, detectedAt: new Date(options.now).toISOString(), announceNew: () => true });
    const deliveries = await store.commitPage(id, await routeEvents(detection.events, options.route), detection.writes);
    delete state.held;
    delete state.missing;
    await store.putResourceState(id, state);
    result.released += detection.events.length;
    result.deliveries.push(...deliveries);
  }
  if (!options.acceptDeletes && !resource) {
    // A rotated refresh token stays: the one in the config may be spent.
    const secrets = (await store.getSourceState(source.name))?.secrets;
    await store.putSourceState(source.name, secrets ? { secrets } : {});
  } else if (!options.acceptDeletes) {
    const sourceState = (await store.getSourceState(source.name)) ?? {};
    delete sourceState.suspended;
    delete sourceState.backoffUntil;
    delete sourceState.backoffReason;
    await store.putSourceState(source.name, sourceState);
  }
  return result;
}
