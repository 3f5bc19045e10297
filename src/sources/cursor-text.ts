import { isRestSource, type SourceConfig } from "../config/types.js";
import { formatCursorStamp, formatIsoWithOffset, formatWall } from "../core/time.js";
import { presetSpec } from "./presets/index.js";

/**
 * A resource's cursor as the vendor writes it, for `status` and the UI: cursors are stored as
 * the pollers need them (instants in epoch milliseconds, ids, per-module maps), which says
 * little to an operator. A `type: rest` time cursor is shown as it is sent (`cursor.format`);
 * a preset's instants as its vendor's stamps (`stamps: wall` — zone-less, in the source's
 * timezone — or ISO 8601 with the zone's offset); ids and dates as they are.
 */
export function cursorText(source: SourceConfig, resource: string, cursor: unknown): string | null {
  if (cursor === null || cursor === undefined) return null;
  if (isRestSource(source)) {
    const config = source.resources.find((r) => r.name === resource)?.cursor;
    if (config?.type === "time" && typeof cursor === "number") return formatCursorStamp(cursor, config.format, source.timezone);
    return flatten(cursor, () => undefined);
  }
  const wall = presetSpec(source.preset).stamps === "wall";
  return flatten(cursor, (ms) => (wall ? formatWall(ms, source.timezone) : formatIsoWithOffset(ms, source.timezone)));
}

/** Epoch milliseconds from 2001 to 2286: an instant, not an id (ids that large are strings). */
function isInstant(value: number): boolean {
  return Number.isInteger(value) && value >= 1e12 && value < 1e13;
}

/** `{ modified: { invoices: 1.7e12 } }` → `modified.invoices 2026-11-23 10:00:00`. */
function flatten(cursor: unknown, stamp: (ms: number) => string | undefined): string {
  const parts: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
      return;
    }
    const text = typeof value === "number" && isInstant(value) ? (stamp(value) ?? String(value)) : typeof value === "string" ? value : JSON.stringify(value);
    parts.push(path ? `${path} ${text}` : text);
  };
  walk(cursor, "");
  return parts.join(", ");
}
