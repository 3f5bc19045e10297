import { zoneClock } from "../../../src/simulators/zone-clock.js";

/** wFirma renders `created`/`modified` as Europe/Warsaw wall-clock time without a zone (`YYYY-MM-DD HH:MM:SS`). */
const warsaw = zoneClock("Europe/Warsaw");

/** `2026-11-23 11:00:00` for 2026-11-23T10:00:00Z. */
export const warsawDateTime = (ms: number): string => warsaw.dateTime(ms);

/** `2026-11-23`, the Warsaw calendar date. */
export const warsawDate = (ms: number): string => warsaw.date(ms);
