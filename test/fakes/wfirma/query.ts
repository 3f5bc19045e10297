import type { WfirmaRecord, WfirmaValue } from "./records.js";

/**
 * `find` semantics: conditions (SQL WHERE), order (SQL ORDER BY) and field trimming.
 *
 * Accepted shapes, JSON or the XML equivalent after parsing:
 * - conditions: `{"0": {"condition": {"field", "operator", "value"}}, "1": …}`, arrays of the
 *   same, `{"condition": [leaf, leaf]}`, and groups `{"and"|"or"|"not": <members>}` nested
 *   anywhere a condition may stand. Members of a group are a numbered object, an array, or
 *   `{"condition": …}`. Siblings join with AND; `not` negates the AND of its members.
 * - order: `{"0": {"asc": "modified"}, "1": {"desc": "id"}}`, `[{"asc": "modified"}]`,
 *   `{"asc": "modified", "desc": "id"}` (key order), `{"asc": ["modified", "id"]}`, or a
 *   string `"modified desc"`. Without order, rows come by id ascending.
 * - fields: `["Invoice.id", "Invoice.total"]`, `{"0": "Invoice.id"}`,
 *   `{"0": {"field": "Invoice.id"}}` or `{"field": ["Invoice.id"]}`; `id` is always kept.
 *
 * Comparisons follow MySQL habits: numeric strings compare as numbers, other strings
 * case-insensitively; an empty or missing value counts as NULL (`is null` matches it, every
 * comparison fails on it). Ties in ordering fall back to id ascending.
 */

export class QueryError extends Error {}

export type Row = WfirmaRecord;
type Getter = (row: Row) => WfirmaValue | undefined;
type Predicate = (row: Row) => boolean;

export interface FieldContext {
  /** Lower-cased names that mean "this module" as a prefix (`invoice`, `warehousedocument`). */
  models: string[];
  /** Whether the module has ever stored this field. */
  knows(field: string): boolean;
  /** Resolves a short reference (`{"id": "7"}` under `contractor`) to the full related record. */
  related(relation: string, id: string): Row | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

const RELATION_ALIASES: Record<string, string> = { contractor_detail: "contractor" };

export function compileGetter(spec: string, ctx: FieldContext): Getter {
  const dot = spec.lastIndexOf(".");
  const field = (dot >= 0 ? spec.slice(dot + 1) : spec).trim();
  const prefix = dot >= 0 ? spec.slice(0, dot).trim() : "";
  const prefixKey = snake(prefix);
  if (!prefix || ctx.models.includes(prefix.toLowerCase()) || ctx.models.includes(prefixKey)) {
    if (!ctx.knows(field)) throw new QueryError(`Unknown field ${spec}`);
    return (row) => row[field];
  }
  const relation = RELATION_ALIASES[prefixKey] ?? prefixKey;
  return (row) => {
    const ref = row[relation];
    if (!isObject(ref)) return undefined;
    if (ref[field] !== undefined) return ref[field] as WfirmaValue;
    const id = ref.id;
    return typeof id === "string" ? ctx.related(relation, id)?.[field] : undefined;
  };
}

const NUMERIC = /^-?\d+(\.\d+)?$/;

function scalar(value: WfirmaValue | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** <0, 0, >0 like SQL: numbers numerically, text case-insensitively. */
export function compareScalars(a: string, b: string): number {
  if (NUMERIC.test(a) && NUMERIC.test(b)) return Number(a) - Number(b);
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function likePattern(pattern: string): RegExp {
  let source = "";
  for (const ch of pattern) {
    if (ch === "%") source += "[\\s\\S]*";
    else if (ch === "_") source += "[\\s\\S]";
    else source += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "i");
}

function compileLeaf(node: Record<string, unknown>, ctx: FieldContext): Predicate {
  if (typeof node.field !== "string") throw new QueryError("condition.field must be a string");
  const get = compileGetter(node.field, ctx);
  const operator = String(node.operator ?? "eq").trim().toLowerCase().replace(/[_\s]+/g, " ");
  const raw = node.value;
  const value = raw === undefined || raw === null ? "" : typeof raw === "object" ? "" : String(raw);
  const cmp = (test: (c: number) => boolean): Predicate => (row) => {
    const actual = scalar(get(row));
    return actual !== undefined && test(compareScalars(actual, value));
  };
  switch (operator) {
    case "eq":
      return cmp((c) => c === 0);
    case "ne":
      return cmp((c) => c !== 0);
    case "gt":
      return cmp((c) => c > 0);
    case "lt":
      return cmp((c) => c < 0);
    case "ge":
      return cmp((c) => c >= 0);
    case "le":
      return cmp((c) => c <= 0);
    case "like":
    case "not like": {
      const regex = likePattern(value);
      const negate = operator === "not like";
      return (row) => {
        const actual = scalar(get(row));
        return actual !== undefined && regex.test(actual) !== negate;
      };
    }
    case "is null":
      return (row) => scalar(get(row)) === undefined;
    case "is not null":
      return (row) => scalar(get(row)) !== undefined;
    case "in": {
      const options = value.split(",").map((v) => v.trim());
      return (row) => {
        const actual = scalar(get(row));
        return actual !== undefined && options.some((option) => compareScalars(actual, option) === 0);
      };
    }
    default:
      throw new QueryError(`Unknown operator ${String(node.operator)}`);
  }
}

function members(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (!isObject(value)) throw new QueryError("condition group must be an object or a list");
  if ("field" in value) return [value];
  const out: unknown[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (/^\d+$/.test(key)) out.push(child);
    else if (key === "condition") out.push(...members(child));
    else out.push({ [key]: child });
  }
  return out;
}

function compileNode(node: unknown, ctx: FieldContext): Predicate {
  if (Array.isArray(node)) return every(node.map((child) => compileNode(child, ctx)));
  if (!isObject(node)) throw new QueryError("condition must be an object");
  if ("field" in node) return compileLeaf(node, ctx);
  const parts: Predicate[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (/^\d+$/.test(key) || key === "condition" || key === "and") {
      parts.push(every(members(value).map((child) => compileNode(child, ctx))));
    } else if (key === "or") {
      const alternatives = members(value).map((child) => compileNode(child, ctx));
      parts.push((row) => alternatives.some((p) => p(row)));
    } else if (key === "not") {
      const inner = every(members(value).map((child) => compileNode(child, ctx)));
      parts.push((row) => !inner(row));
    } else {
      throw new QueryError(`Unknown condition key ${key}`);
    }
  }
  return every(parts);
}

function every(predicates: Predicate[]): Predicate {
  if (predicates.length === 1) return predicates[0] as Predicate;
  return (row) => predicates.every((p) => p(row));
}

export function compileConditions(conditions: unknown, ctx: FieldContext): Predicate {
  if (conditions === undefined || conditions === null || conditions === "") return () => true;
  return compileNode(conditions, ctx);
}

export interface OrderTerm {
  field: string;
  descending: boolean;
}

function fieldNames(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(fieldNames);
  if (isObject(value)) return Object.values(value).flatMap(fieldNames);
  throw new QueryError("order field must be a string");
}

export function parseOrder(order: unknown): OrderTerm[] {
  if (order === undefined || order === null || order === "") return [];
  if (typeof order === "string") {
    const [field = "", direction = "asc"] = order.trim().split(/\s+/);
    return [{ field, descending: direction.toLowerCase() === "desc" }];
  }
  if (Array.isArray(order)) return order.flatMap(parseOrder);
  if (!isObject(order)) throw new QueryError("order must be an object or a list");
  const terms: OrderTerm[] = [];
  for (const [key, value] of Object.entries(order)) {
    const lower = key.toLowerCase();
    if (/^\d+$/.test(key)) terms.push(...parseOrder(value));
    else if (lower === "asc" || lower === "desc") terms.push(...fieldNames(value).map((field) => ({ field, descending: lower === "desc" })));
    else throw new QueryError(`Unknown order key ${key}`);
  }
  return terms;
}

type SortKey = number | string | undefined;

function sortKey(value: WfirmaValue | undefined): SortKey {
  const text = scalar(value);
  if (text === undefined) return undefined;
  return NUMERIC.test(text) ? Number(text) : text.toLowerCase();
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Filters and sorts once; callers cache the result until the next write. */
export function selectRows(rows: Iterable<Row>, conditions: unknown, order: unknown, ctx: FieldContext): Row[] {
  const predicate = compileConditions(conditions, ctx);
  const terms = parseOrder(order).map((term) => ({ get: compileGetter(term.field, ctx), sign: term.descending ? -1 : 1 }));
  const keyed: Array<{ row: Row; keys: SortKey[]; id: number }> = [];
  for (const row of rows) {
    if (!predicate(row)) continue;
    keyed.push({ row, keys: terms.map((term) => sortKey(term.get(row))), id: Number(row.id) });
  }
  keyed.sort((a, b) => {
    for (let i = 0; i < terms.length; i += 1) {
      const c = compareKeys(a.keys[i], b.keys[i]) * (terms[i]?.sign ?? 1);
      if (c !== 0) return c;
    }
    return a.id - b.id;
  });
  return keyed.map((entry) => entry.row);
}

export function parseFields(fields: unknown): string[] {
  if (fields === undefined || fields === null || fields === "") return [];
  if (typeof fields === "string") return [fields.slice(fields.lastIndexOf(".") + 1)];
  if (Array.isArray(fields)) return fields.flatMap(parseFields);
  if (isObject(fields)) return Object.values(fields).flatMap(parseFields);
  return [];
}

export function project(row: Row, fields: string[]): Row {
  if (fields.length === 0) return row;
  const out: Row = { id: row.id ?? "" };
  for (const field of fields) {
    const value = row[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}
