/**
 * Instants from vendor timestamps. ISO 8601 with an offset or `Z` is absolute; a zone-less
 * stamp (`2026-05-10 14:00:33`, `2026-05-10T14:00:33`, `10-05-2026 14:00:33`) is read in the
 * given IANA time zone. Numbers are unix seconds (below 1e11) or milliseconds.
 */
export function parseInstant(value: unknown, timeZone: string): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? (value < 1e11 ? value * 1000 : value) : undefined;
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return parseInstant(Number(text), timeZone);
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(text) && /\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  let parts = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/.exec(text);
  if (!parts) {
    const dmy = /^(\d{2})-(\d{2})-(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
    if (!dmy) return undefined;
    parts = [text, dmy[3]!, dmy[2]!, dmy[1]!, dmy[4]!, dmy[5]!, dmy[6]!, undefined!] as unknown as RegExpExecArray;
  }
  const [, y, mo, d, h, mi, s, frac] = parts;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), Number((frac ?? "0").padEnd(3, "0")));
  return wall - zoneOffsetMs(wall, timeZone);
}

/** Offset of `timeZone` from UTC (ms) at about the given instant (exact except inside a DST jump). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const first = offsetAt(instant, timeZone);
  return offsetAt(instant - first, timeZone);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function offsetAt(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(instant)) parts[part.type] = Number(part.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * Wall-clock fields of an instant in a zone: `YYYY-MM-DD HH:mm:ss`. The offset is the one in
 * force at the instant (in the hour after an autumn change, 01:20Z in Warsaw is 02:20, not 03:20).
 */
export function formatWall(instant: number, timeZone: string): string {
  const wall = new Date(instant + offsetAt(instant, timeZone));
  return wall.toISOString().slice(0, 19).replace("T", " ");
}

/**
 * The lowest wall-clock time a zone-less stamp written from `instant` until `until` can show:
 * `formatWall(instant)`, moved back by any backward change of the offset in between (the autumn
 * DST change repeats an hour, whose stamps are earlier than the wall time before it). A filter
 * `stamp >= this` then skips nothing written in that span.
 */
export function wallLowerBound(instant: number, until: number, timeZone: string): string {
  const start = offsetAt(instant, timeZone);
  let lowest = start;
  // Offsets change a few times a year: sampling every 6 h finds any lower one in the span.
  const step = 6 * 3_600_000;
  for (let at = instant; at < until + step; at += step) lowest = Math.min(lowest, offsetAt(Math.min(at, until), timeZone));
  return formatWall(instant - (start - lowest), timeZone);
}

/** ISO 8601 with the zone's offset, e.g. `2026-11-23T11:00:00+01:00`. */
export function formatIsoWithOffset(instant: number, timeZone: string): string {
  const offset = offsetAt(instant, timeZone);
  const wall = new Date(instant + offset).toISOString().slice(0, 19);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset) / 60000;
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** A time cursor as the `cursor.param` query parameter receives it. */
export function formatCursorStamp(ms: number, format: "iso" | "unix" | "YYYY-MM-DD HH:mm:ss", timeZone: string): string {
  if (format === "unix") return String(Math.floor(ms / 1000));
  if (format === "YYYY-MM-DD HH:mm:ss") return formatWall(ms, timeZone);
  return new Date(ms).toISOString();
}
