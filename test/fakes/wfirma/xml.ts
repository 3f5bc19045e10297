/**
 * The minimal XML dialect wFirma speaks when `inputFormat`/`outputFormat` are left at their
 * default: `<api>` root, one element per key, numbered branches rendered as repeated elements.
 * Enough for the fake's default format, not a general XML library.
 */

export type XmlTree = string | { [key: string]: XmlTree | XmlTree[] };

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith("#x")) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith("#")) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[lower] ?? "";
  });
}

function renderElement(name: string, value: unknown): string {
  if (value === null || value === undefined) return `<${name}/>`;
  if (Array.isArray(value)) return value.map((item) => renderElement(name, item)).join("");
  if (typeof value !== "object") return `<${name}>${escapeXml(String(value))}</${name}>`;
  return `<${name}>${renderChildren(value as Record<string, unknown>)}</${name}>`;
}

function renderChildren(object: Record<string, unknown>): string {
  let out = "";
  for (const [key, value] of Object.entries(object)) {
    // {"0": {"invoice": {...}}} becomes a repeated <invoice> element.
    if (/^\d+$/.test(key) && value !== null && typeof value === "object" && !Array.isArray(value)) {
      out += renderChildren(value as Record<string, unknown>);
    } else {
      out += renderElement(key, value);
    }
  }
  return out;
}

export function renderXml(envelope: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<api>${renderChildren(envelope)}</api>\n`;
}

/**
 * Parses a request body. Leaf elements become strings, repeated siblings arrays; the `<api>`
 * root is unwrapped. Throws on anything malformed (the fake answers `INPUT ERROR`).
 */
export function parseXml(source: string): Record<string, XmlTree | XmlTree[]> {
  const text = source.replace(/<\?xml[^>]*\?>/g, "").replace(/<!--[\s\S]*?-->/g, "").trim();
  const token = /<!\[CDATA\[([\s\S]*?)\]\]>|<\/\s*([\w:.-]+)\s*>|<\s*([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/gy;
  interface Frame {
    name: string;
    children: Record<string, XmlTree | XmlTree[]>;
    hasChildren: boolean;
    text: string;
  }
  const root: Frame = { name: "#root", children: {}, hasChildren: false, text: "" };
  const stack: Frame[] = [root];
  const attach = (parent: Frame, name: string, value: XmlTree): void => {
    parent.hasChildren = true;
    const existing = parent.children[name];
    if (existing === undefined) parent.children[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else parent.children[name] = [existing, value];
  };
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = token.exec(text)) !== null) {
    consumed = token.lastIndex;
    const top = stack[stack.length - 1] as Frame;
    const [, cdata, closing, opening, , selfClosing, chars] = match;
    if (cdata !== undefined) top.text += cdata;
    else if (chars !== undefined) top.text += unescapeXml(chars);
    else if (opening !== undefined && selfClosing === "/") attach(top, opening, "");
    else if (opening !== undefined) stack.push({ name: opening, children: {}, hasChildren: false, text: "" });
    else if (closing !== undefined) {
      if (top.name !== closing || stack.length < 2) throw new Error(`unexpected </${closing}>`);
      stack.pop();
      const parent = stack[stack.length - 1] as Frame;
      attach(parent, closing, top.hasChildren ? top.children : top.text.trim());
    }
  }
  if (consumed !== text.length || stack.length !== 1) throw new Error("malformed XML");
  const api = root.children.api;
  if (api === undefined || Array.isArray(api) || typeof api === "string") throw new Error("missing <api> root");
  return api;
}
