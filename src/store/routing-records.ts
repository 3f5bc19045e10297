import type { DeadLetter, DeliveryLogEntry, EnqueueItem } from "./store.js";

/**
 * What `enqueue` writes, besides events and deliveries, for the targets routing did not send
 * to: a `filtered` log entry per target whose filter said no, and a dead letter (attempts 0,
 * the expression's failure as reason) with its `dead` log entry per target whose filter or
 * transform failed. Every store backend writes these in the enqueue's own transaction.
 */
export function routingRecords(items: readonly EnqueueItem[], now: number): Array<{ log: DeliveryLogEntry; dead?: Omit<DeadLetter, "seq"> }> {
  const at = new Date(now).toISOString();
  const out: Array<{ log: DeliveryLogEntry; dead?: Omit<DeadLetter, "seq"> }> = [];
  for (const item of items) {
    const envelope = item.event.envelope;
    const base = { at, eventId: envelope.id, eventType: envelope.type, recordKey: item.recordKey, attempt: 0, latencyMs: 0 };
    for (const target of item.filtered ?? []) out.push({ log: { ...base, target, outcome: "filtered" } });
    for (const [target, reason] of Object.entries(item.failed ?? {})) {
      out.push({
        log: { ...base, target, outcome: "dead", error: reason },
        dead: { target, eventId: envelope.id, recordKey: item.recordKey, at, attempts: 0, reason },
      });
    }
  }
  return out;
}
