import { isAlias, isMap, isScalar, isSeq, visit, type Document, type LineCounter, type YAMLError } from "yaml";
import type { ConfigPath } from "./interpolate.js";

/** YAML syntax errors in words, by line and column only (the line may hold a secret). */

export const CRON_QUOTE_HINT = 'quote cron strings: schedule: "*/1 * * * *"';

const YAML_MESSAGES: Record<string, string> = {
  TAB_AS_INDENT: "tabs are not allowed for indentation; use spaces",
  BAD_INDENT: "bad indentation",
  BAD_DQ_ESCAPE: "invalid escape sequence in a double-quoted string (use single quotes, or \\\\ for a backslash)",
  DUPLICATE_KEY: "duplicate key",
  MISSING_CHAR: "missing character: a closing quote or bracket, a comma, or a space after a colon",
  MULTILINE_IMPLICIT_KEY: "a key must fit on one line (a missing colon or closing quote?)",
  BLOCK_AS_IMPLICIT_KEY: "a block cannot be a key (a missing colon or bad indentation?)",
  BAD_SCALAR_START: "a plain value cannot start with this character; quote the value",
  TAG_RESOLVE_FAILED: "unknown YAML tag",
  MULTIPLE_DOCS: "only one YAML document is allowed (remove the --- line)",
  MULTIPLE_ANCHORS: "a node has more than one anchor",
  MULTIPLE_TAGS: "a node has more than one tag",
  ALIAS_PROPS: "an alias cannot have an anchor or tag",
  BAD_COLLECTION_TYPE: "a tag does not fit this kind of value",
  BAD_DIRECTIVE: "invalid YAML directive",
  BAD_PROP_ORDER: "anchors and tags must come after the ? or : indicator",
  KEY_OVER_1024_CHARS: "a key longer than 1024 characters",
  NON_STRING_KEY: "keys must be plain text",
  UNEXPECTED_TOKEN: "unexpected text here (check indentation, colons and quotes)",
};

function yamlMessage(error: YAMLError): string {
  if (error.code === "BAD_ALIAS" || (error.code === "UNEXPECTED_TOKEN" && /alias/i.test(error.message))) {
    return `"*" starts a YAML alias here; ${CRON_QUOTE_HINT}`;
  }
  return YAML_MESSAGES[error.code] ?? `YAML syntax error (${error.code})`;
}

/**
 * YAML errors as `line L, column C: …`, never quoting the source text. Only the first error is
 * shown in full: the rest usually follow from it.
 */
export function yamlProblems(doc: Document, text: string, lineCounter: LineCounter): { lines: string[]; count: number } {
  const found: Array<{ line: number; col: number; message: string }> = [];
  for (const error of doc.errors) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    let message = yamlMessage(error);
    if (error.code !== "BAD_ALIAS" && !message.includes(CRON_QUOTE_HINT) && unquotedVariableInFlow(text, line)) {
      message += `; inside { … } or [ … ], quote values that hold \${VAR}: key: "\${VAR}"`;
    }
    found.push({ line, col, message });
  }
  if (found.length === 0) {
    visit(doc, {
      Alias(_, node) {
        if (!node.resolve(doc)) {
          const { line, col } = lineCounter.linePos(node.range?.[0] ?? 0);
          found.push({ line, col, message: `"*" starts a YAML alias but no anchor of that name is defined before it; ${CRON_QUOTE_HINT}` });
        }
      },
    });
  }
  const first = found[0];
  if (!first) return { lines: [], count: 0 };
  const lines = [`line ${first.line}, column ${first.col}: ${first.message}`];
  const rest = found.filter((item) => item.line !== first.line || item.message !== first.message);
  if (rest.length > 0) lines.push(`${rest.length} more YAML error${rest.length === 1 ? "" : "s"} after it, most likely caused by it`);
  return { lines, count: 1 + rest.length };
}

/** Does this line (or the one before) open a flow collection holding an unquoted `${`? */
function unquotedVariableInFlow(text: string, line: number): boolean {
  const lines = text.split(/\r?\n/);
  return [lines[line - 1], lines[line - 2]].some(
    (candidate) =>
      candidate !== undefined &&
      /[{[].*[:,[]\s*\$\{/.test(candidate.replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, '""')),
  );
}

/** Line and column of the deepest YAML node on `path` (merged or aliased values: their holder). */
export function location(doc: Document, path: ConfigPath, lineCounter: LineCounter): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      if (item === undefined || item === null) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
    if (isAlias(node)) break;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  if (node !== null && typeof node === "object" && "range" in node) {
    const range = (node as { range?: unknown }).range;
    if (Array.isArray(range) && typeof range[0] === "number") return range[0];
  }
  return undefined;
}
