/**
 * Fakturoid renders `created_at`/`updated_at` in the account's zone (Europe/Prague) with its
 * offset and milliseconds: `2026-11-23T11:05:47.187+01:00`. The offset is looked up once per
 * UTC hour (European DST switches on whole UTC hours) so seeding 100,000 rows stays cheap.
 */
const TIME_ZONE = "Europe/Prague";
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const formatter = new Intl.DateTimeFormat("en-US", {
  timeZone: TIME_ZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const offsetByHour = new Map<number, number>();
const dayNames = new Map<number, string>();

export function pragueOffsetMs(ms: number): number {
  const hour = Math.floor(ms / HOUR_MS);
  const cached = offsetByHour.get(hour);
  if (cached !== undefined) return cached;
  const at = hour * HOUR_MS;
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(at))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  offsetByHour.set(hour, wall - at);
  return wall - at;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

function dayName(dayNumber: number): string {
  let day = dayNames.get(dayNumber);
  if (day === undefined) {
    day = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
    dayNames.set(dayNumber, day);
  }
  return day;
}

/** `2026-11-23T11:05:47.187+01:00`. */
export function pragueTimestamp(ms: number): string {
  const offset = pragueOffsetMs(ms);
  const local = Math.floor(ms) + offset;
  const dayNumber = Math.floor(local / DAY_MS);
  const inDay = local - dayNumber * DAY_MS;
  const seconds = Math.floor(inDay / 1000);
  const sign = offset < 0 ? "-" : "+";
  const offsetMinutes = Math.abs(offset) / 60_000;
  return (
    `${dayName(dayNumber)}T${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}` +
    `.${pad(inDay % 1000, 3)}${sign}${pad(Math.floor(offsetMinutes / 60))}:${pad(offsetMinutes % 60)}`
  );
}

/** `2026-11-23`, the Prague calendar date. */
export function pragueDate(ms: number): string {
  return dayName(Math.floor((ms + pragueOffsetMs(ms)) / DAY_MS));
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses an ISO 8601 date or date-time. An explicit offset or `Z` wins; without one the
 * value is Prague wall-clock time (Rails' `Time.zone.parse` in the account zone).
 * Returns undefined for anything else, e.g. an offset whose `+` arrived as a space.
 */
export function parseIsoDateTime(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "0", zone] = m;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(frac.slice(0, 3).padEnd(3, "0")));
  if (Number.isNaN(wall) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (zone === undefined) return wall - pragueOffsetMs(wall - pragueOffsetMs(wall));
  if (zone === "Z") return wall;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0");
  return wall - sign * minutes * 60_000;
}
