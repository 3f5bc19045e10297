import { zoneClock } from "../../../src/simulators/zone-clock.js";

/**
 * Fakturoid renders `created_at`/`updated_at` in the account's zone (Europe/Prague) with its
 * offset and milliseconds: `2026-11-23T11:05:47.187+01:00`.
 */
const prague = zoneClock("Europe/Prague");

export const pragueOffsetMs = (ms: number): number => prague.offsetMs(ms);

/** `2026-11-23T11:05:47.187+01:00`. */
export const pragueTimestamp = (ms: number): string => prague.timestamp(ms);

/** `2026-11-23`, the Prague calendar date. */
export const pragueDate = (ms: number): string => prague.date(ms);

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
