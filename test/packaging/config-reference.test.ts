import { describe, expect, it } from "vitest";
import {
  README_PATH,
  REGENERATE,
  END_MARKER,
  START_MARKER,
  cell,
  readmeSection,
  renderConfigReference,
  renderDocPage,
  splitSourceKinds,
  staleFiles,
  withReadmeSection,
  type Row,
} from "../../scripts/config-reference.js";
import { configJsonSchema } from "../../src/config/json-schema.js";

/** Every property name anywhere in the JSON Schema. */
function propertyNames(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) propertyNames(item, into);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "properties" && value && typeof value === "object") for (const name of Object.keys(value)) into.add(name);
      propertyNames(value, into);
    }
  }
  return into;
}

describe("config reference (README section and docs/config-reference.md)", () => {
  it("is current: generated from the config schema", () => {
    const stale = staleFiles();
    expect(stale, `the config reference is stale in ${stale.join(" and ")}: regenerate it with \`${REGENERATE}\` and commit the result`).toEqual([]);
  });

  it("names every key of the schema, with its default", () => {
    const reference = renderConfigReference();
    for (const name of propertyNames(configJsonSchema())) expect(reference, `key ${name}`).toMatch(new RegExp(`\`[^\`]*\\b${name}\` `));
    expect(reference).toContain("| `sources[].schedule` | string |  | `\"*/1 * * * *\"` |");
    expect(reference).toContain("| `server.listen` | string |  | `\"127.0.0.1:8080\"` |");
    expect(reference).toContain("| `sources[].api_token` | string | yes, or `api_token_file` |");
    expect(reference).toContain("| `sources[].resources[].pagination.size` (with `style: page`) | integer |  | `100` |");
    expect(reference).toContain("retrohook schema > retrohook.schema.json");
  });

  it("notices a stale or missing section", () => {
    const readme = `# retrohook\n\n## Configuration reference\n\n${renderConfigReference()}\n## Development\n`;
    const reading = (text: string) => (path: string) => (path === README_PATH ? text : renderDocPage());
    expect(staleFiles(reading(readme))).toEqual([]);
    expect(staleFiles(reading(readme.replace("Default 100.", "Default 50.")))).toEqual(["README.md"]);
    expect(staleFiles(reading("# retrohook\n"))).toEqual(["README.md"]);
    expect(staleFiles((path) => (path === README_PATH ? readme : "# Configuration reference\n\nold\n"))).toEqual(["docs/config-reference.md"]);
    expect(readmeSection(`${START_MARKER}\n${START_MARKER}\n${END_MARKER}`)).toBeUndefined();
  });

  it("inserts the section before Development once, then replaces only what is between the markers", () => {
    const readme = "# retrohook\n\nIntro.\n\n## Command line\n\nText.\n\n## Development\n\nMore.\n";
    const once = withReadmeSection(readme, renderConfigReference());
    expect(once.indexOf("## Configuration reference")).toBeLessThan(once.indexOf("## Development"));
    expect(once.indexOf("## Configuration reference")).toBeGreaterThan(once.indexOf("## Command line"));
    expect(withReadmeSection(once, renderConfigReference())).toBe(once);
    const changed = withReadmeSection(once, `${START_MARKER}\nnew\n${END_MARKER}\n`);
    expect(changed).toBe(once.replace(readmeSection(once)!.trimEnd(), `${START_MARKER}\nnew\n${END_MARKER}`));
    expect(changed.startsWith("# retrohook\n\nIntro.")).toBe(true);
    expect(changed.endsWith("## Development\n\nMore.\n")).toBe(true);
  });

  it("escapes table cells: pipes everywhere, angle brackets outside code", () => {
    expect(cell("`a|b` or <path> and `<x>`")).toBe("`a\\|b` or &lt;path&gt; and `<x>`");
    expect(cell("two\n  lines")).toBe("two lines");
  });

  it("shares a source key only when all kinds but one agree on it", () => {
    const row = (key: string, description: string): Row => ({ key, type: "string", required: "", default: "", description });
    const kinds = [
      { title: "a", description: "", rows: [row("k", "x"), row("j", "1")] },
      { title: "b", description: "", rows: [row("k", "x"), row("j", "2")] },
      { title: "c", description: "", rows: [row("k", "y"), row("j", "3")] },
    ];
    const { common, own } = splitSourceKinds(kinds);
    expect(common.map((r) => r.key)).toEqual(["k"]);
    expect(own.map((rows) => rows.map((r) => `${r.key}=${r.description}`))).toEqual([["j=1"], ["j=2"], ["k=y", "j=3"]]);
  });
});
