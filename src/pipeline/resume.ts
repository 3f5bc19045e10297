import type { SourceConfig } from "../config/types.js";
import type { StateStore } from "../store/store.js";
import { isAccessFact } from "../sources/facts.js";
import { liftBackoff } from "./backoff.js";

export interface ResumeResult {
  /** Resources whose suspension was lifted. */
  resources: string[];
  /** The source's own suspension (401) or back-off was lifted. */
  source: boolean;
  /** Learned "the key may not read this feed" facts forgotten: the next pass tries the feeds again. */
  facts: string[];
}

/**
 * `resume`: lifts the suspensions of the resource(s), and of the whole source its suspension,
 * back-off and denied feeds, keeping cursors and snapshots — the next pass delivers what changed
 * while the source was suspended. `reset` is the way to start over.
 */
export async function resumeResources(store: StateStore, source: SourceConfig, resource: string | undefined): Promise<ResumeResult> {
  const names = resource ? [resource] : source.resources.map((r) => r.name);
  const result: ResumeResult = { resources: [], source: false, facts: [] };
  for (const name of names) {
    const id = { source: source.name, resource: name };
    const state = await store.getResourceState(id);
    if (!state?.suspended) continue;
    delete state.suspended;
    await store.putResourceState(id, state);
    result.resources.push(name);
  }
  const backedOff = await liftBackoff(store, source.name);
  const sourceState = (await store.getSourceState(source.name)) ?? {};
  result.source = sourceState.suspended !== undefined || backedOff;
  delete sourceState.suspended;
  result.facts = Object.keys(sourceState.facts ?? {}).filter(isAccessFact);
  for (const fact of result.facts) delete sourceState.facts![fact];
  await store.putSourceState(source.name, sourceState);
  return result;
}

export function describeResume(sourceName: string, result: ResumeResult): string {
  const parts: string[] = [];
  if (result.resources.length > 0) parts.push(`suspension lifted for ${result.resources.join(", ")}`);
  if (result.source) parts.push("source suspension and back-off lifted");
  if (result.facts.length > 0) parts.push(`feeds tried again: ${result.facts.join(", ")}`);
  return `resume ${sourceName}: ${parts.length > 0 ? parts.join("; ") : "nothing was suspended"}; cursors and snapshots kept`;
}
