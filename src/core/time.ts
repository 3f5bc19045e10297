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

/** Wall-clock fields of an instant in a zone: `YYYY-MM-DD HH:mm:ss`. */
export function formatWall(instant: number, timeZone: string): string {
  const wall = new Date(instant + zoneOffsetMs(instant, timeZone));
  return wall.toISOString().slice(0, 19).replace("T", " ");
}

/** ISO 8601 with the zone's offset, e.g. `2026-11-23T11:00:00+01:00`. */
export function formatIsoWithOffset(instant: number, timeZone: string): string {
  const offset = zoneOffsetMs(instant, timeZone);
  const wall = new Date(instant + offset).toISOString().slice(0, 19);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset) / 60000;
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}
