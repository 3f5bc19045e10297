import { z } from "zod";
import { configInputSchema } from "./schema.js";

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * JSON Schema (draft 2020-12) of the config file as users write it (`retrohook schema`; editors
 * pick it up from `# yaml-language-server: $schema=…`). Adds what zod refinements cannot show:
 * exactly one of `K` / `K_file`, and top-level `x-*` keys for YAML anchors.
 */
export function configJsonSchema(): object {
  const generated = z.toJSONSchema(configInputSchema, { io: "input", target: "draft-2020-12" }) as JsonObject;
  addFileAlternatives(generated);
  allowPlaceholders(generated);
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: "https://github.com/retrohook/retrohook/config.schema.json",
    title: "retrohook configuration",
    ...rest,
    patternProperties: {
      "^x-": { description: "Extension keys, ignored by retrohook: a place for YAML anchors to merge with `<<: *name`." },
    },
  };
}

/** Where an object has `K` and `K_file`: either one is required (when `K` was), never both. */
function addFileAlternatives(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) addFileAlternatives(item);
    return;
  }
  if (!isObject(node)) return;
  for (const value of Object.values(node)) addFileAlternatives(value);
  const properties = node.properties;
  if (!isObject(properties)) return;
  const required = Array.isArray(node.required) ? (node.required as string[]) : [];
  const rules: JsonObject[] = [];
  for (const key of Object.keys(properties)) {
    const fileKey = `${key}_file`;
    if (!(fileKey in properties)) continue;
    if (required.includes(key)) {
      node.required = (node.required as string[]).filter((name) => name !== key);
      rules.push({ oneOf: [{ required: [key] }, { required: [fileKey] }] });
    } else {
      rules.push({ not: { required: [key, fileKey] } });
    }
  }
  if (rules.length > 0) node.allOf = [...(Array.isArray(node.allOf) ? node.allOf : []), ...rules];
}

/** A whole value `${VAR}` or `${VAR:-default}`: substituted and converted after parsing. */
const PLACEHOLDER = { type: "string", pattern: "^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}$", description: "An environment variable, substituted when the config is loaded." };

/**
 * Editors validate the file as written, before `${VAR}` substitution: wherever a value must be
 * a number, a boolean or match a pattern, a whole-value placeholder is accepted too.
 */
function allowPlaceholders(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) allowPlaceholders(item);
    return;
  }
  if (!isObject(node)) return;
  const properties = node.properties;
  if (isObject(properties)) {
    for (const [key, value] of Object.entries(properties)) {
      if (isObject(value) && needsPlaceholder(value)) {
        const { description, ...rest } = value;
        properties[key] = { ...(description ? { description } : {}), anyOf: [rest, PLACEHOLDER] };
      }
    }
  }
  for (const value of Object.values(node)) allowPlaceholders(value);
}

function needsPlaceholder(schema: JsonObject): boolean {
  const type = schema.type;
  return typeof schema.pattern === "string" || type === "number" || type === "integer" || type === "boolean" || "enum" in schema || "const" in schema;
}
