/**
 * wFirma renders `created`/`modified` as Europe/Warsaw wall-clock time without a zone
 * (`YYYY-MM-DD HH:MM:SS`). The zone offset is looked up once per UTC hour: European DST
 * switches happen on whole UTC hours, so seeding 100,000 rows costs a handful of Intl calls.
 */
const TIME_ZONE = "Europe/Warsaw";
const HOUR_MS = 3_600_000;

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

function zoneOffsetMs(ms: number): number {
  const hour = Math.floor(ms / HOUR_MS);
  const cached = offsetByHour.get(hour);
  if (cached !== undefined) return cached;
  const at = hour * HOUR_MS;
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(at))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  const offset = wall - at;
  offsetByHour.set(hour, offset);
  return offset;
}

const DAY_MS = 86_400_000;
const dayNames = new Map<number, string>();

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function localParts(ms: number): { day: string; secondOfDay: number } {
  const local = Math.floor((ms + zoneOffsetMs(ms)) / 1000) * 1000;
  const dayNumber = Math.floor(local / DAY_MS);
  let day = dayNames.get(dayNumber);
  if (day === undefined) {
    day = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
    dayNames.set(dayNumber, day);
  }
  return { day, secondOfDay: (local - dayNumber * DAY_MS) / 1000 };
}

/** `2026-11-23 11:00:00` for 2026-11-23T10:00:00Z. */
export function warsawDateTime(ms: number): string {
  const { day, secondOfDay } = localParts(ms);
  return `${day} ${two(Math.floor(secondOfDay / 3600))}:${two(Math.floor(secondOfDay / 60) % 60)}:${two(secondOfDay % 60)}`;
}

/** `2026-11-23`, the Warsaw calendar date. */
export function warsawDate(ms: number): string {
  return localParts(ms).day;
}
