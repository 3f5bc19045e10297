/**
 * The configuration reference, generated from the config schema so it cannot drift: every key
 * with its path, type, whether it is required, its default and its description, as Markdown.
 *
 *   npx tsx scripts/config-reference.ts          rewrite docs/config-reference.md and the README
 *                                                section between the config-reference markers
 *   npx tsx scripts/config-reference.ts --check  exit 1 when either is stale (what CI's test does)
 *
 * It renders `configJsonSchema()` — the JSON Schema `retrohook schema` prints, made from the zod
 * schemas the loader parses with — so the reference, the editor schema and the loader agree.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BYTE_SIZE_HINT, DURATION_PATTERN } from "../src/config/duration.js";
import { configJsonSchema } from "../src/config/json-schema.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const README_PATH = join(ROOT, "README.md");
export const DOC_PATH = join(ROOT, "docs", "config-reference.md");
export const START_MARKER = "<!-- config-reference:start -->";
export const END_MARKER = "<!-- config-reference:end -->";
export const REGENERATE = "npx tsx scripts/config-reference.ts";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

export interface Row {
  /** `sources[].resources[].cursor.field`. */
  key: string;
  /** Inside a tagged union: the member's tag, e.g. `style: page`. */
  when?: string;
  type: string;
  /** "yes", "yes, or `K_file`", or "". */
  required: string;
  /** Markdown (a code span) or "". */
  default: string;
  description: string;
}

// ---------------------------------------------------------------------------------------------
// Markdown helpers

const code = (text: string): string => {
  const fence = text.includes("`") ? "``" : "`";
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
};

/** Table-cell text: `|` escaped everywhere (GFM needs it in code spans too), `<` outside code. */
export function cell(text: string): string {
  const parts = text.replace(/\s*\n\s*/g, " ").split(/(`+[^`]*`+)/);
  return parts
    .map((part, index) => {
      const escaped = part.replace(/\|/g, "\\|");
      return index % 2 === 1 ? escaped : escaped.replace(/</g, "&lt;").replace(/>/g, "&gt;");
    })
    .join("");
}

function table(rows: readonly Row[]): string {
  const lines = ["| Key | Type | Required | Default | Description |", "|---|---|---|---|---|"];
  for (const row of rows) {
    const key = row.when === undefined ? code(row.key) : `${code(row.key)} (with ${code(row.when)})`;
    lines.push(`| ${[key, row.type, row.required, row.default, row.description].map(cell).join(" | ")} |`);
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Types

function variantsOf(node: Json): Json[] | undefined {
  const list = node.anyOf ?? node.oneOf;
  return Array.isArray(list) ? list.filter(isObject) : undefined;
}

function typeText(node: Json): string {
  const description = typeof node.description === "string" ? node.description : "";
  if (variantsOf(node)?.some((variant) => variant.pattern === DURATION_PATTERN)) return "duration";
  if (description.includes(BYTE_SIZE_HINT)) return "size";
  if (node.const !== undefined) return code(JSON.stringify(node.const));
  if (Array.isArray(node.enum)) return node.enum.map((value) => code(JSON.stringify(value))).join(" | ");
  const variants = variantsOf(node);
  if (variants) return [...new Set(variants.map(typeText))].join(" | ");
  const type = node.type;
  if (Array.isArray(type)) return type.join(" | ");
  switch (type) {
    case "array":
      return isObject(node.items) ? `list of ${wrap(typeText(node.items))}` : "list";
    case "object":
      if (isObject(node.properties)) return "object";
      return isObject(node.additionalProperties) ? `map of ${wrap(typeText(node.additionalProperties))}` : "object";
    case undefined:
      return "any";
    default:
      return String(type);
  }
}

const wrap = (text: string): string => (text.includes(" | ") ? `(${text})` : text);

function defaultText(node: Json): string {
  const value = node.default;
  if (value === undefined) return "";
  if (isObject(value) && Object.keys(value).length === 0) return ""; // `{}`: the keys below say it
  return code(JSON.stringify(value));
}

/** `K` whose `K_file` may stand in for it (`allOf: [{oneOf: [{required: [K]}, {required: [K_file]}]}]`). */
function fileAlternatives(node: Json): Set<string> {
  const keys = new Set<string>();
  for (const rule of Array.isArray(node.allOf) ? node.allOf.filter(isObject) : []) {
    const options = Array.isArray(rule.oneOf) ? rule.oneOf.filter(isObject) : [];
    const first = options[0]?.required;
    if (options.length === 2 && Array.isArray(first) && first.length === 1) keys.add(String(first[0]));
  }
  return keys;
}

/**
 * The schema as the loader sees it after `${VAR}` substitution: `configJsonSchema()` lets a whole
 * value `${VAR}` stand wherever a number, boolean, enum or pattern is wanted (for editors); the
 * reference says that once, in its introduction, and shows each key's own type.
 */
export function withoutPlaceholders(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutPlaceholders);
  if (!isObject(node)) return node;
  const out: Json = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withoutPlaceholders(value)]));
  const isPlaceholder = (variant: unknown): boolean =>
    isObject(variant) && variant.type === "string" && typeof variant.pattern === "string" && variant.pattern.startsWith("^\\$\\{");
  if (Array.isArray(out.anyOf) && out.anyOf.some(isPlaceholder)) {
    const kept = out.anyOf.filter((variant) => !isPlaceholder(variant));
    const { anyOf: _anyOf, ...rest } = out;
    if (kept.length === 1 && isObject(kept[0])) return { ...kept[0], ...rest };
    return { ...rest, anyOf: kept };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Walking the schema

/** Rows for `node` at `key` and every key below it. */
function walk(node: Json, key: string, required: string, rows: Row[]): void {
  rows.push({
    key,
    type: typeText(node),
    required,
    default: defaultText(node),
    description: typeof node.description === "string" ? node.description : "",
  });
  children(node, key, rows);
}

/** Rows of the keys below `node` (object properties, list items, union members). */
function children(node: Json, key: string, rows: Row[]): void {
  if (isObject(node.properties)) {
    const required = new Set(Array.isArray(node.required) ? node.required.map(String) : []);
    const alternatives = fileAlternatives(node);
    for (const [name, child] of Object.entries(node.properties)) {
      if (!isObject(child)) continue;
      const needed = alternatives.has(name) ? `yes, or ${code(`${name}_file`)}` : required.has(name) ? "yes" : "";
      walk(child, key === "" ? name : `${key}.${name}`, needed, rows);
    }
    return;
  }
  if (node.type === "array" && isObject(node.items)) {
    const items = node.items;
    // A list of plain objects lists their keys; a list of "name or object" gets a row of its own.
    if (variantsOf(items)) walk(items, `${key}[]`, "", rows);
    else children(items, `${key}[]`, rows);
    return;
  }
  const variants = variantsOf(node);
  if (!variants) return;
  const containers = variants.filter((variant) => isObject(variant.properties) || (variant.type === "array" && isObject(variant.items)));
  if (containers.length === 1) {
    children(containers[0]!, key, rows);
    return;
  }
  // A tagged union (`pagination`): each member's keys, qualified by its tag.
  for (const member of containers) {
    const properties = isObject(member.properties) ? member.properties : {};
    const tag = Object.entries(properties).find(([, value]) => isObject(value) && value.const !== undefined);
    const memberRows: Row[] = [];
    children(member, key, memberRows);
    for (const row of memberRows) rows.push(tag ? { ...row, when: `${tag[0]}: ${String((tag[1] as Json).const)}` } : row);
  }
}

// ---------------------------------------------------------------------------------------------
// Sections

interface SourceKind {
  /** `preset: fakturownia` or `type: rest`. */
  title: string;
  description: string;
  rows: Row[];
}

const sameKey = (a: Row, b: Row): boolean => a.key === b.key && a.when === b.when;
const sameRow = (a: Row, b: Row): boolean =>
  a.type === b.type && a.required === b.required && a.default === b.default && a.description === b.description;

/**
 * Source keys every kind shares (a key every kind has, with the same type, default and wording in
 * all kinds but at most one), and for each kind the keys it adds or sets differently.
 */
export function splitSourceKinds(kinds: readonly SourceKind[]): { common: Row[]; own: Row[][] } {
  const common: Row[] = [];
  for (const row of kinds[0]?.rows ?? []) {
    const variants = kinds.map((kind) => kind.rows.find((candidate) => sameKey(candidate, row)));
    if (variants.some((variant) => variant === undefined)) continue;
    let best: Row | undefined;
    let bestCount = 0;
    for (const variant of variants as Row[]) {
      const count = (variants as Row[]).filter((other) => sameRow(other, variant)).length;
      if (count > bestCount) {
        best = variant;
        bestCount = count;
      }
    }
    if (best && bestCount >= Math.max(2, kinds.length - 1)) common.push(best);
  }
  const own = kinds.map((kind) =>
    kind.rows.filter((row) => {
      const shared = common.find((candidate) => sameKey(candidate, row));
      return shared === undefined || !sameRow(shared, row);
    }),
  );
  return { common, own };
}

function sourceKinds(schema: Json): SourceKind[] {
  const sources = (schema.properties as Json).sources as Json;
  const members = variantsOf(sources.items as Json) ?? [];
  return members.map((member) => {
    const properties = member.properties as Json;
    const tagName = "preset" in properties ? "preset" : "type";
    const tag = (properties[tagName] as Json).const;
    const rows: Row[] = [];
    children(member, "sources[]", rows);
    return {
      title: `${tagName}: ${String(tag)}`,
      description: typeof member.description === "string" ? member.description : "",
      rows,
    };
  });
}

/** The reference as Markdown; `level` is the heading level of its sections (`###` in the README). */
export function renderConfigReference(level = 3): string {
  const schema = withoutPlaceholders(configJsonSchema()) as Json;
  const h = "#".repeat(level);
  const top: Row[] = [];
  const targets: Row[] = [];
  const properties = schema.properties as Json;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [name, node] of Object.entries(properties)) {
    const needed = required.has(name) ? "yes" : "";
    if (name === "sources") top.push({ key: name, type: typeText(node as Json), required: needed, default: "", description: `${String((node as Json).description)} See below.` });
    else if (name === "targets") {
      const rows: Row[] = [];
      walk(node as Json, name, needed, rows);
      top.push({ ...rows[0]!, description: `${rows[0]!.description} See below.` });
      targets.push(...rows.slice(1));
    } else walk(node as Json, name, needed, top);
  }
  const kinds = sourceKinds(schema);
  const { common, own } = splitSourceKinds(kinds);
  const isResourceKey = (row: Row): boolean => row.key.startsWith("sources[].resources[].");
  const out: string[] = [
    `${START_MARKER}`,
    `<!-- Generated from src/config/schema.ts by \`${REGENERATE}\`; do not edit by hand (test/packaging/config-reference.test.ts fails when it is stale). -->`,
    "",
    "Every key of the config file, generated from the schema the loader checks it with. The same schema as JSON Schema, for editors that read `# yaml-language-server: $schema=./retrohook.schema.json`: `retrohook schema > retrohook.schema.json`.",
    "",
    "`a.b` is key `b` inside `a`; `a[]` is an item of the list `a`. *Required* applies when the enclosing object is given. A secret `K` marked “yes, or `K_file`” may instead be given as `K_file`, a path whose file holds it (relative to the config file's folder; a trailing newline is ignored) — exactly one of the two. Any value may be `${VAR}` or `${VAR:-default}`. Durations are written like `500ms`, `10s`, `5m`, `72h`, `1d` or `1h30m`; sizes like `512KB` or `50MB`.",
    "",
    `${h} Top level`,
    "",
    table(top),
    "",
    `${h} Sources: keys of every source`,
    "",
    "A source is a preset (`preset: …`) or a generic REST API (`type: rest`). Every source takes these keys; the sections after this one list what each kind adds or sets differently.",
    "",
    table(common.filter((row) => !isResourceKey(row))),
    "",
    `${h} Sources: keys of every resource`,
    "",
    "A resource is written as its name or as an object with `name` and these keys (and, for `type: rest`, the keys in that section).",
    "",
    table(common.filter(isResourceKey)),
  ];
  kinds.forEach((kind, index) => {
    out.push("", `${h} Sources: \`${kind.title}\``, "", kind.description, "", table(own[index]!));
  });
  out.push("", `${h} Targets`, "", table(targets), "", END_MARKER);
  return `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// Files

/** docs/config-reference.md: the same reference as a page of its own. */
export function renderDocPage(): string {
  return `# Configuration reference\n\n${renderConfigReference(2)}`;
}

/** The README's marked section, or undefined when the markers are missing or out of order. */
export function readmeSection(readme: string): string | undefined {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start || readme.indexOf(START_MARKER, start + 1) >= 0) return undefined;
  return `${readme.slice(start, end + END_MARKER.length)}\n`;
}

/**
 * The README with its section replaced by `section`; without markers, a new "Configuration
 * reference" section goes before "## Development" (or at the end).
 */
export function withReadmeSection(readme: string, section: string): string {
  const body = section.replace(/\n$/, "");
  if (readmeSection(readme) !== undefined) {
    const start = readme.indexOf(START_MARKER);
    const end = readme.indexOf(END_MARKER) + END_MARKER.length;
    return readme.slice(0, start) + body + readme.slice(end);
  }
  const insertion = `## Configuration reference\n\n${body}\n\n`;
  const at = readme.indexOf("\n## Development");
  if (at < 0) return `${readme.replace(/\n*$/, "\n\n")}${insertion}`;
  return `${readme.slice(0, at + 1)}${insertion}${readme.slice(at + 1)}`;
}

/** Which generated files differ from a fresh rendering (empty: all current). */
export function staleFiles(read: (path: string) => string = (path) => readFileSync(path, "utf8")): string[] {
  const stale: string[] = [];
  if (readmeSection(read(README_PATH)) !== renderConfigReference()) stale.push("README.md");
  let doc = "";
  try {
    doc = read(DOC_PATH);
  } catch {
    // missing: stale
  }
  if (doc !== renderDocPage()) stale.push("docs/config-reference.md");
  return stale;
}

function main(args: string[]): number {
  if (args.includes("--check")) {
    const stale = staleFiles();
    if (stale.length === 0) return 0;
    process.stderr.write(`config reference is stale in ${stale.join(" and ")}; run: ${REGENERATE}\n`);
    return 1;
  }
  writeFileSync(DOC_PATH, renderDocPage());
  const readme = readFileSync(README_PATH, "utf8");
  const updated = withReadmeSection(readme, renderConfigReference());
  if (updated !== readme) writeFileSync(README_PATH, updated);
  process.stdout.write(`wrote docs/config-reference.md${updated !== readme ? " and README.md" : " (README.md already current)"}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
