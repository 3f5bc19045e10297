import type { Routing } from "../core/routing.js";
import type { EventEnvelope } from "../core/types.js";
import type { EnqueueItem } from "../store/store.js";

/** Where an event goes: target names, or a full routing with what targets' filters and transforms decided. */
export type RouteEvent = (envelope: EventEnvelope) => string[] | Routing | Promise<Routing>;

/** Per target, what routing did instead of queueing a delivery (metrics count them). */
export interface RoutingOutcome {
  target: string;
  outcome: "filtered" | "dead";
}

/**
 * The outbox items of detected events, routed one by one in detection order (filters and
 * transforms run here, so the stored bodies are fixed before anything is written).
 */
export async function routeEvents(events: ReadonlyArray<{ envelope: EventEnvelope; recordKey: string }>, route: RouteEvent): Promise<EnqueueItem[]> {
  const items: EnqueueItem[] = [];
  for (const { envelope, recordKey } of events) {
    const event = { envelope, body: JSON.stringify(envelope) };
    const routed = route(envelope);
    if (Array.isArray(routed)) {
      items.push({ event, recordKey, targets: routed });
      continue;
    }
    const routing = routed instanceof Promise ? await routed : routed;
    items.push({ event, recordKey, targets: routing.targets, fixed: routing.fixed, filtered: routing.filtered, failed: routing.failed });
  }
  return items;
}

/** The filtered and dead-lettered targets of the items an enqueue wrote. */
export function routingOutcomes(items: readonly EnqueueItem[]): RoutingOutcome[] {
  return items.flatMap((item) => [
    ...(item.filtered ?? []).map((target) => ({ target, outcome: "filtered" as const })),
    ...Object.keys(item.failed ?? {}).map((target) => ({ target, outcome: "dead" as const })),
  ]);
}
