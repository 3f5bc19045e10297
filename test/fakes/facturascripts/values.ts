import { addDays } from "../../../src/simulators/zone-clock.js";
import type { ColumnType, TableSchema } from "./schema.js";

/**
 * Values as the fake stores them (SQL-like: dates `YYYY-MM-DD`, times `HH:MM:SS`, timestamps
 * `YYYY-MM-DD HH:MM:SS`) and as the API renders them (dates `dd-mm-YYYY`, timestamps
 * `dd-mm-YYYY HH:MM:SS`, booleans and amounts as JSON booleans and numbers).
 */

export type Value = string | number | boolean | null;
export type Row = Record<string, Value | undefined>;

/** A write the model refuses; the API answers 400 `{"error": ...}`. */
export class FsSaveError extends Error {
  override name = "FsSaveError";
}

export interface LocalTime {
  now: () => number;
  /** Minutes east of UTC. */
  offsetMinutes: number;
}

export interface LocalNow {
  date: string;
  time: string;
  timestamp: string;
}

export function parseUtcOffset(offset: string): number {
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
  if (!match) throw new Error(`utcOffset must look like +01:00, got ${offset}`);
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === "-" ? -minutes : minutes;
}

export function localNow(time: LocalTime, ms = time.now()): LocalNow {
  const iso = new Date(ms + time.offsetMinutes * 60_000).toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 19), timestamp: `${iso.slice(0, 10)} ${iso.slice(11, 19)}` };
}



function validDate(year: string, month: string, day: string): string | undefined {
  const iso = `${year}-${month.padStart(2, "0")}-${day.padStart(2, "0")}`;
  const parsed = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === iso ? iso : undefined;
}

/** `YYYY-MM-DD` or `dd-mm-YYYY` (also with `/`) → `YYYY-MM-DD`; undefined when not a date. */
export function parseDate(text: string): string | undefined {
  const trimmed = text.trim();
  let match = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(trimmed);
  if (match) return validDate(match[1] as string, match[2] as string, match[3] as string);
  match = /^(\d{1,2})[-/](\d{1,2})[-/](\d{4})$/.exec(trimmed);
  if (match) return validDate(match[3] as string, match[2] as string, match[1] as string);
  return undefined;
}

export function parseTime(text: string): string | undefined {
  const match = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (!match || Number(match[1]) > 23 || Number(match[2]) > 59 || Number(match[3] ?? 0) > 59) return undefined;
  return `${(match[1] as string).padStart(2, "0")}:${match[2] as string}:${match[3] ?? "00"}`;
}

export function parseTimestamp(text: string): string | undefined {
  const [datePart = "", timePart] = text.trim().split(/[ T]/);
  const date = parseDate(datePart);
  if (!date) return undefined;
  if (timePart === undefined) return `${date} 00:00:00`;
  const time = parseTime(timePart.replace(/(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/, ""));
  return time ? `${date} ${time}` : undefined;
}

/** MySQL's string → number cast: the leading numeric prefix, else 0 (so "true" is 0). */
export function mysqlNumber(text: string): number {
  const match = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(text);
  return match ? Number(match[0]) : 0;
}

/** PHP's (int) cast as `getInt` applies it. */
export function phpInt(text: string | null): number {
  if (text === null) return 0;
  const match = /^\s*[+-]?\d+/.exec(text);
  return match ? Number(match[0]) : 0;
}

export function htmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#039;");
}

/** A written value (form string, or a JS value in-process) → the stored value. */
export function coerce(type: ColumnType, raw: unknown, column: string): Value {
  if (raw === null || raw === undefined) return null;
  if (type === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (typeof raw === "number") return raw !== 0;
    return ["1", "true", "t", "on", "yes"].includes(String(raw).trim().toLowerCase());
  }
  if (type === "serial" || type === "integer") {
    if (typeof raw === "number") return Math.trunc(raw);
    const text = String(raw).trim();
    return text === "" ? null : Math.trunc(mysqlNumber(text));
  }
  if (type === "double") return typeof raw === "number" ? raw : mysqlNumber(String(raw).replace(",", "."));
  const text = String(raw);
  if (type === "varchar" || type === "text") return text;
  if (text.trim() === "") return null;
  const parsed = type === "date" ? parseDate(text) : type === "time" ? parseTime(text) : parseTimestamp(text);
  if (parsed === undefined) throw new FsSaveError(type === "date" ? `Fecha ${text} no válida.` : `Valor no válido para ${column}: ${text}`);
  return parsed;
}

function renderDate(value: string): string {
  return `${value.slice(8, 10)}-${value.slice(5, 7)}-${value.slice(0, 4)}`;
}

export function renderValue(type: ColumnType, value: Value): Value {
  if (value === null || typeof value !== "string") return value;
  if (type === "date") return renderDate(value);
  if (type === "timestamp") return `${renderDate(value.slice(0, 10))} ${value.slice(11)}`;
  return value;
}

/** The wire form of a stored row (columns in schema order). */
export function renderRow(schema: TableSchema, row: Row): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [column, type] of Object.entries(schema.columns)) out[column] = renderValue(type, row[column] ?? null);
  return out;
}

export { addDays };
