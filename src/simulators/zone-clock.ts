/**
 * Wall-clock rendering for the fakes, which seed 100,000 rows: the zone's offset is looked up
 * once per UTC hour (European DST switches on whole UTC hours) and day names once per day, so
 * a seed costs a handful of Intl calls. The daemon itself uses core/time.ts.
 */
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface ZoneClock {
  /** The zone's offset from UTC at the instant (ms). */
  offsetMs(ms: number): number;
  /** `2026-11-23 11:00:00`: wall-clock time, no zone. */
  dateTime(ms: number): string;
  /** `2026-11-23T11:05:47.187+01:00`: wall-clock time with milliseconds and the offset. */
  timestamp(ms: number): string;
  /** `2026-11-23`: the calendar date in the zone. */
  date(ms: number): string;
}

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

export function zoneClock(timeZone: string): ZoneClock {
  const formatter = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const offsetByHour = new Map<number, number>();
  const dayNames = new Map<number, string>();

  const offsetMs = (ms: number): number => {
    const hour = Math.floor(ms / HOUR_MS);
    const cached = offsetByHour.get(hour);
    if (cached !== undefined) return cached;
    const at = hour * HOUR_MS;
    const parts: Record<string, number> = {};
    for (const part of formatter.formatToParts(new Date(at))) if (part.type !== "literal") parts[part.type] = Number(part.value);
    const offset = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0) - at;
    offsetByHour.set(hour, offset);
    return offset;
  };
  const dayName = (dayNumber: number): string => {
    let day = dayNames.get(dayNumber);
    if (day === undefined) {
      day = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
      dayNames.set(dayNumber, day);
    }
    return day;
  };
  /** The local day and the milliseconds into it. */
  const local = (ms: number): { day: string; inDay: number } => {
    const wall = Math.floor(ms) + offsetMs(ms);
    const dayNumber = Math.floor(wall / DAY_MS);
    return { day: dayName(dayNumber), inDay: wall - dayNumber * DAY_MS };
  };
  const clock = (inDay: number): string => {
    const seconds = Math.floor(inDay / 1000);
    return `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
  };

  return {
    offsetMs,
    dateTime(ms) {
      const { day, inDay } = local(ms);
      return `${day} ${clock(inDay)}`;
    },
    timestamp(ms) {
      const { day, inDay } = local(ms);
      const offset = offsetMs(ms);
      const minutes = Math.abs(offset) / 60_000;
      return `${day}T${clock(inDay)}.${String(inDay % 1000).padStart(3, "0")}${offset < 0 ? "-" : "+"}${two(Math.floor(minutes / 60))}:${two(minutes % 60)}`;
    },
    date(ms) {
      return local(ms).day;
    },
  };
}

const shiftedDates = new Map<string, string>();

/** `2026-11-23` moved by whole days (a calendar date, no zone); memoised for seeding. */
export function addDays(date: string, days: number): string {
  const key = `${date}|${days}`;
  let shifted = shiftedDates.get(key);
  if (shifted === undefined) {
    shifted = new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
    if (shiftedDates.size > 20_000) shiftedDates.clear();
    shiftedDates.set(key, shifted);
  }
  return shifted;
}
