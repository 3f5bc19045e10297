import { createHash } from "node:crypto";

/**
 * Event ids are deterministic for one observed change and distinct for distinct changes
 * (docs/decisions/0002): the state epoch (random per state file), the resource generation
 * (random, renewed by reset), the record key, the record's version number (grows with every
 * change, kept in tombstones), the event name and the new fingerprint. A crash-retry of the
 * same change yields the same id; A→B→A→B yields three ids (versions 2, 3, 4).
 */
export interface EventIdParts {
  epoch: string;
  generation: string;
  recordKey: string;
  version: number;
  event: string;
  fingerprint: string;
}

export function eventId(parts: EventIdParts): string {
  const hash = createHash("sha256")
    .update([parts.epoch, parts.generation, parts.recordKey, String(parts.version), parts.event, parts.fingerprint].join("\u001f"))
    .digest("hex");
  return `evt_${hash.slice(0, 32)}`;
}
