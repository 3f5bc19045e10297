import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configJsonSchema } from "../../src/config/json-schema.js";

type Json = Record<string, unknown>;
const EXAMPLE = resolve(import.meta.dirname, "../../config.example.yaml");

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  return ajv.compile(configJsonSchema());
}

/** Every `properties` entry of every object schema, with its JSON pointer. */
function properties(node: unknown, pointer = "#", out: Array<[string, Json]> = []): Array<[string, Json]> {
  if (Array.isArray(node)) node.forEach((item, index) => properties(item, `${pointer}/${index}`, out));
  else if (node !== null && typeof node === "object") {
    const object = node as Json;
    if (object.properties && typeof object.properties === "object") {
      for (const [key, value] of Object.entries(object.properties as Json)) out.push([`${pointer}/properties/${key}`, value as Json]);
    }
    for (const [key, value] of Object.entries(object)) properties(value, `${pointer}/${key}`, out);
  }
  return out;
}

describe("configJsonSchema", () => {
  it("is draft 2020-12 with a title and a description on every field", () => {
    const schema = configJsonSchema() as Json;
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.title).toBe("retrohook configuration");
    const fields = properties(schema);
    expect(fields.length).toBeGreaterThan(100);
    const undescribed = fields.filter(([, value]) => typeof value.description !== "string" || value.description === "").map(([pointer]) => pointer);
    expect(undescribed).toEqual([]);
  });

  it("compiles under ajv strict mode and accepts the example", () => {
    const validate = validator();
    const ok = validate(parse(readFileSync(EXAMPLE, "utf8"), { merge: true }));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("rejects unknown keys, and both K and K_file, and accepts K_file alone", () => {
    const validate = validator();
    const source = { name: "f", preset: "fakturownia", domain: "acme" };
    expect(validate({ sources: [{ ...source, api_token: "t" }] })).toBe(true);
    expect(validate({ sources: [{ ...source, api_token_file: "t.txt" }] })).toBe(true);
    expect(validate({ sources: [{ ...source }] })).toBe(false);
    expect(validate({ sources: [{ ...source, api_token: "t", api_token_file: "t.txt" }] })).toBe(false);
    expect(validate({ sources: [{ ...source, api_token: "t", schedul: "* * * * *" }] })).toBe(false);
    expect(validate({ "x-defaults": { any: "thing" }, sources: [{ ...source, api_token: "t" }] })).toBe(true);
  });

  it("states defaults for users", () => {
    const text = JSON.stringify(configJsonSchema());
    for (const fragment of ['"default":"*/1 * * * *"', '"default":"0 */6 * * *"', '"default":"Europe/Warsaw"', '"default":"8MB"', '"default":"72h"', '"default":"sqlite://./data/retrohook.sqlite"']) {
      expect(text).toContain(fragment);
    }
  });
});
