import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const EXAMPLES = join(ROOT, "examples");

/** config.example.yaml and every YAML file under examples/, whichever exist. */
function exampleFiles(): string[] {
  const files = [join(ROOT, "config.example.yaml")];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) files.push(path);
    }
  };
  walk(EXAMPLES);
  return files.filter((file) => existsSync(file));
}

type AjvError = { keyword: string; instancePath: string; schemaPath: string; message?: string; params: Record<string, unknown> };

/** Ajv's errors without those of union branches meant for another `preset` / `type`. */
function explain(errors: AjvError[]): string[] {
  const branchOf = (schemaPath: string): string => /^(.*?\/(?:anyOf|oneOf)\/\d+)/.exec(schemaPath)?.[1] ?? "";
  const discriminator = /\/(preset|type)$/;
  const wrong = new Set(
    errors
      .filter((e) => ((e.keyword === "const" || e.keyword === "enum") && discriminator.test(e.instancePath)) || (e.keyword === "required" && ["preset", "type"].includes(String(e.params.missingProperty))))
      .map((e) => branchOf(e.schemaPath)),
  );
  const kept = errors.filter((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf" && !wrong.has(branchOf(e.schemaPath)));
  return [...new Set((kept.length > 0 ? kept : errors).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`))];
}

describe("retrohook schema", () => {
  it("prints a JSON Schema, with no config file, that validates config.example.yaml and every example", async () => {
    const result = await runCli(["schema"], { RETROHOOK_CONFIG: join(tempDir(), "absent.yaml") });
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(schema.$schema).toMatch(/json-schema\.org/);
    const validate = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);

    // Editors validate the file as written, `${VAR}` placeholders included.
    const problems: string[] = [];
    const files = exampleFiles();
    for (const file of files) {
      const config = parse(readFileSync(file, "utf8"), { merge: true }) as unknown;
      if (validate(config)) continue;
      problems.push(`${relative(ROOT, file)}: ${explain(validate.errors ?? []).join("; ")}`);
    }
    expect(problems, `files the schema rejects:\n${problems.join("\n")}`).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(existsSync(join(ROOT, "config.example.yaml")) ? 1 : 0);

    // The contract's config sample (fixtures/design-sample.yaml), as a user would write it, and a config that is wrong where the schema can tell.
    const sample = readFileSync(fileURLToPath(new URL("./fixtures/design-sample.yaml", import.meta.url)), "utf8");
    expect(validate(parse(sample)), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(validate({ sources: [{ name: "x", preset: "nosuchvendor" }] })).toBe(false);
    expect(validate({ sources: [], targets: [{ name: "erp", url: "https://erp.example/hooks", format: "xml" }] })).toBe(false);
  });
});
