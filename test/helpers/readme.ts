import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * README.md read as a user reads it: its fenced code blocks, the commands of its shell blocks,
 * and the commands it names inline. Tests take what they run from here, so a README edit that
 * no longer works fails them.
 */

export const README_FILE = fileURLToPath(new URL("../../README.md", import.meta.url));

export const readme = (): string => readFileSync(README_FILE, "utf8");

export interface FencedBlock {
  /** The info string's first word, lower-cased ("" when none). */
  lang: string;
  /** The block's text, its list indentation removed. */
  body: string;
  /** README line of the opening fence (1-based). */
  line: number;
}

const FENCE = /^( *)(`{3,}|~{3,})\s*([\w+-]*)/;

/** The fenced code blocks of a markdown text, indented ones (inside list items) included. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let open: { indent: number; fence: string; lang: string; line: number; body: string[] } | undefined;
  markdown.split("\n").forEach((text, index) => {
    const fence = FENCE.exec(text);
    if (!open) {
      if (fence) open = { indent: fence[1]!.length, fence: fence[2]!, lang: fence[3]!.toLowerCase(), line: index + 1, body: [] };
      return;
    }
    if (fence && fence[2]![0] === open.fence[0] && fence[2]!.length >= open.fence.length && fence[3] === "" && text.trim() === fence[2]) {
      blocks.push({ lang: open.lang, body: open.body.join("\n"), line: open.line });
      open = undefined;
      return;
    }
    const indent = text.length - text.trimStart().length;
    open.body.push(text.slice(Math.min(open.indent, indent)));
  });
  return blocks;
}

/** The README's one block in `lang` that contains `containing`; throws unless there is exactly one. */
export function readmeBlock(lang: string, containing = ""): FencedBlock {
  const found = fencedBlocks(readme()).filter((block) => block.lang === lang && block.body.includes(containing));
  if (found.length !== 1) throw new Error(`README.md has ${found.length} \`\`\`${lang} blocks containing "${containing}", expected one`);
  return found[0]!;
}

/** `text` without a trailing shell comment (a `#` that starts a word outside quotes). */
function withoutComment(text: string): string {
  let quote = "";
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quote) {
      if (char === quote) quote = "";
    } else if (char === "'" || char === '"') quote = char;
    else if (char === "#" && (i === 0 || /\s/.test(text[i - 1]!))) return text.slice(0, i);
  }
  return text;
}

/** The commands of a shell block: `\` continuations joined, comments dropped, `a && b` split. */
export function shellCommands(body: string): string[] {
  const commands: string[] = [];
  let pending = "";
  for (const raw of body.split("\n")) {
    const line = withoutComment(raw).trimEnd();
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    commands.push(...`${pending}${line}`.split("&&"));
    pending = "";
  }
  if (pending) commands.push(pending);
  return commands.map((command) => command.replace(/\s+/g, " ").trim()).filter((command) => command !== "");
}

export const SHELL_LANGS = ["sh", "bash", "shell", "console"];

/** What a user is told to run, inline: a program, an HTTP request line, or a flag. */
const INLINE_COMMAND = /^(?:(?:npx|npm|retrohook|docker|bash|sh|chown|node|curl|python3?|pip|tsx)\s|(?:GET|HEAD|POST|PUT|PATCH|DELETE)\s+\/|-{1,2}[a-z])/;

export interface ReadmeCommand {
  text: string;
  /** README line where it is written. */
  line: number;
  /** "shell" (a shell block), "inline" (a code span in the text) or the language of a snippet block. */
  kind: string;
}

/**
 * Every command in a markdown text: each command of its shell blocks, each code span outside
 * blocks that starts like a command (table cells' `\|` unescaped), and each snippet block in
 * another program language (js, ts, python) as one item named `<lang> snippet`.
 */
export function markdownCommands(markdown: string, snippetLangs = ["js", "javascript", "ts", "typescript", "python", "py"]): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  const blocks = fencedBlocks(markdown);
  for (const block of blocks) {
    if (SHELL_LANGS.includes(block.lang)) for (const text of shellCommands(block.body)) commands.push({ text, line: block.line, kind: "shell" });
    else if (snippetLangs.includes(block.lang)) commands.push({ text: `${block.lang} snippet`, line: block.line, kind: block.lang });
  }
  // Code spans outside the blocks: the block lines blanked so that line numbers stay right.
  const lines = markdown.split("\n");
  for (const block of blocks) {
    const end = lines.findIndex((text, index) => index > block.line - 1 && FENCE.test(text) && text.trim().replace(/[`~]/g, "") === "");
    for (let i = block.line - 1; i <= end; i += 1) lines[i] = "";
  }
  const prose = lines.join("\n");
  for (const match of prose.matchAll(/`([^`]+)`/g)) {
    const text = match[1]!.replace(/\\\|/g, "|").replace(/\s+/g, " ").trim();
    if (!INLINE_COMMAND.test(text)) continue;
    commands.push({ text, line: prose.slice(0, match.index).split("\n").length, kind: "inline" });
  }
  return commands;
}
