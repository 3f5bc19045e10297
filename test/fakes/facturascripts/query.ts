import type { ColumnType, TableSchema } from "./schema.js";
import { mysqlNumber, parseDate, parseTimestamp, phpInt, type Row, type Value } from "./values.js";

/**
 * `GET /api/3/{resource}` query semantics of APIModel::listAll over MariaDB: `filter[...]` with
 * suffixes, `operation[...]` (AND binds tighter than OR, as in SQL), `sort[...]`, `limit`
 * (default 50; 0, negative or non-numeric = every row, offset ignored) and `offset`.
 * Comparisons follow MariaDB: string columns compare case-insensitively, numeric and boolean
 * columns cast the filter text to a number (so `pagada=true` means `pagada = 0`), and NULL
 * never matches a comparison.
 */

export const DEFAULT_LIMIT = 50;

type Operator = "=" | "!=" | ">" | "<" | ">=" | "<=" | "LIKE" | "IS" | "IS NOT";

export interface Clause {
  field: string;
  operator: Operator;
  value: string | null;
  or: boolean;
}

export interface SortKey {
  field: string;
  cast?: "integer" | "lower" | "upper";
  desc: boolean;
}

export interface ListQuery {
  clauses: Clause[];
  sort: SortKey[];
  /** Columns named by filters or sorts that the table does not have. */
  unknownFields: string[];
  limit: number;
  offset: number;
}

/** Suffix → operator, longest first (the order APIModel's checks resolve to). */
const SUFFIXES: Array<[string, Operator, boolean]> = [
  ["_notnull", "IS NOT", true],
  ["_isnot", "IS NOT", false],
  ["_null", "IS", true],
  ["_like", "LIKE", false],
  ["_gte", ">=", false],
  ["_lte", "<=", false],
  ["_neq", "!=", false],
  ["_gt", ">", false],
  ["_lt", "<", false],
  ["_is", "IS", false],
];
const IDENTIFIER = /^[a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)?$/;

/** PHP-style `name[key]=value` parameters, in first-seen order, last value winning. */
function bracketed(query: URLSearchParams, name: string): Map<string, string> {
  const result = new Map<string, string>();
  const pattern = new RegExp(`^${name}\\[([^\\]]*)\\]$`);
  for (const [key, value] of query) {
    const match = pattern.exec(key);
    if (match) result.set(match[1] as string, value);
  }
  return result;
}

function columnOf(schema: TableSchema, field: string): string | undefined {
  const dot = field.indexOf(".");
  const [table, column] = dot < 0 ? [undefined, field] : [field.slice(0, dot), field.slice(dot + 1)];
  if (table !== undefined && table !== schema.sqlTable) return undefined;
  return Object.hasOwn(schema.columns, column) ? column : undefined;
}

export function parseListQuery(schema: TableSchema, query: URLSearchParams): ListQuery {
  const unknownFields: string[] = [];
  const operations = bracketed(query, "operation");
  const clauses: Clause[] = [];
  for (const [key, raw] of bracketed(query, "filter")) {
    let field = key;
    let operator: Operator = "=";
    let value: string | null = raw;
    for (const [suffix, op, nullValue] of SUFFIXES) {
      if (key.endsWith(suffix) && key.length > suffix.length) {
        field = key.slice(0, -suffix.length);
        operator = op;
        if (nullValue) value = null;
        break;
      }
    }
    // APIModel drops filters whose field is not a plain identifier, without an error
    if (!IDENTIFIER.test(field)) continue;
    const column = columnOf(schema, field);
    if (!column) {
      unknownFields.push(field);
      continue;
    }
    clauses.push({ field: column, operator, value, or: (operations.get(key) ?? "AND").toUpperCase() === "OR" });
  }
  const sort: SortKey[] = [];
  for (const [key, direction] of bracketed(query, "sort")) {
    const match = /^(?:(integer|lower|upper):)?(.+)$/.exec(key);
    const column = match ? columnOf(schema, match[2] as string) : undefined;
    if (!match || !column) {
      unknownFields.push(match?.[2] ?? key);
      continue;
    }
    sort.push({ field: column, cast: match[1] as SortKey["cast"], desc: direction.trim().toUpperCase() === "DESC" });
  }
  const limit = query.has("limit") ? phpInt(query.get("limit")) : DEFAULT_LIMIT;
  const offset = Math.max(0, phpInt(query.get("offset")));
  return { clauses, sort, unknownFields, limit, offset };
}

type Predicate = (row: Row) => boolean;

function likeRegex(pattern: string): RegExp {
  const wrapped = pattern.includes("%") ? pattern : `%${pattern}%`;
  let source = "";
  for (const ch of wrapped) source += ch === "%" ? "[\\s\\S]*" : ch === "_" ? "[\\s\\S]" : ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${source}$`, "i");
}

/** A value as MariaDB would print it (what LIKE matches against). */
function sqlText(value: Value): string {
  if (typeof value === "boolean") return value ? "1" : "0";
  return String(value);
}

/** What var2str makes of a filter value: `dd-mm-YYYY[ HH:MM:SS]` becomes ISO. */
function literal(raw: string): string {
  const [datePart = "", timePart] = raw.split(" ");
  if (/^\d{1,2}-\d{1,2}-\d{4}$/.test(datePart) && (timePart === undefined || /^\d{1,2}:\d{2}(:\d{2})?$/.test(timePart))) {
    const date = parseDate(datePart);
    if (date) return timePart === undefined ? date : (parseTimestamp(raw) ?? raw);
  }
  return raw;
}

function comparator(type: ColumnType, raw: string): (value: Value) => number {
  const text = literal(raw);
  switch (type) {
    case "serial":
    case "integer":
    case "double":
    case "boolean": {
      const wanted = mysqlNumber(text);
      return (value) => Number(value) - wanted;
    }
    case "date": {
      // an invalid date compares as the zero date, so `fecha_gt=not-a-date` matches every row
      const wanted = parseDate(text) ?? (parseTimestamp(text) ? text : "0000-00-00");
      const withTime = wanted.length > 10;
      return (value) => compareText(withTime ? `${String(value)} 00:00:00` : String(value), wanted);
    }
    case "timestamp": {
      const wanted = parseTimestamp(text) ?? "0000-00-00 00:00:00";
      return (value) => compareText(String(value), wanted);
    }
    default: {
      const wanted = text.toLowerCase();
      return (value) => compareText(String(value).toLowerCase(), wanted);
    }
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compile(schema: TableSchema, clause: Clause): Predicate {
  const { field, operator, value } = clause;
  if (operator === "IS") return (row) => row[field] === null || row[field] === undefined;
  if (operator === "IS NOT") return (row) => row[field] !== null && row[field] !== undefined;
  if (value === null) return () => false;
  if (operator === "LIKE") {
    const regex = likeRegex(value);
    return (row) => row[field] !== null && row[field] !== undefined && regex.test(sqlText(row[field] as Value));
  }
  const compare = comparator(schema.columns[field] as ColumnType, value);
  const test: (n: number) => boolean =
    operator === "=" ? (n) => n === 0 : operator === "!=" ? (n) => n !== 0 : operator === ">" ? (n) => n > 0 : operator === "<" ? (n) => n < 0 : operator === ">=" ? (n) => n >= 0 : (n) => n <= 0;
  return (row) => {
    const current = row[field];
    return current !== null && current !== undefined && test(compare(current));
  };
}

/** `a AND b OR c AND d` → (a AND b) OR (c AND d). */
export function wherePredicate(schema: TableSchema, clauses: Clause[]): Predicate | undefined {
  if (clauses.length === 0) return undefined;
  const groups: Predicate[][] = [[]];
  clauses.forEach((clause, index) => {
    if (index > 0 && clause.or) groups.push([]);
    (groups[groups.length - 1] as Predicate[]).push(compile(schema, clause));
  });
  return (row) => groups.some((group) => group.every((p) => p(row)));
}

function sortValue(type: ColumnType, key: SortKey, value: Value): number | string | null {
  if (value === null || value === undefined) return null;
  if (key.cast === "integer") return Math.trunc(mysqlNumber(sqlText(value)));
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value;
  return type === "varchar" || type === "text" ? value.toLowerCase() : value;
}

/** Sorts in place; rows equal on every key keep their incoming (base) order. */
export function sortRows(schema: TableSchema, rows: Row[], sort: SortKey[]): Row[] {
  if (sort.length === 0) return rows;
  const decorated = rows.map((row, index) => ({ row, index, keys: sort.map((key) => sortValue(schema.columns[key.field] as ColumnType, key, row[key.field] ?? null)) }));
  decorated.sort((a, b) => {
    for (let i = 0; i < sort.length; i++) {
      const [x, y] = [a.keys[i] ?? null, b.keys[i] ?? null];
      // MariaDB: NULL is the smallest value
      const order = x === null || y === null ? (x === y ? 0 : x === null ? -1 : 1) : typeof x === "number" && typeof y === "number" ? x - y : compareText(String(x), String(y));
      if (order !== 0) return (sort[i] as SortKey).desc ? -order : order;
    }
    return a.index - b.index;
  });
  return decorated.map((d) => d.row);
}

export function pageRows<T>(rows: T[], limit: number, offset: number): T[] {
  if (limit <= 0) return rows;
  return rows.slice(offset, offset + limit);
}
