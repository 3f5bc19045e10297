import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { tempDir } from "../../helpers/tmp.js";

/**
 * "A new vendor is one folder and one entry in the preset list": a copy of src/ gets a small
 * sample preset (a folder of two files, below) and its entry in sources/presets/index.ts — nothing
 * else. The copy must type-check, and its CLI must know the preset everywhere: the JSON Schema,
 * `validate` (with the same kind of messages as the real presets) and `once --dry-run` (events).
 * docs/decisions/0008-code-layout.md counts these files.
 */

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** The sample preset: a JSON API with an `X-Api-Key` header and one list of products. */
const SAMPLE_FILES: Record<string, string> = {
  "config.ts": `import { z } from "zod";
import { inheritStart, secret, secretFile, strictObject, withoutFileKeys } from "../../../config/fields.js";
import { presetResources, sourceCommonShape } from "../../../config/source-shape.js";

export const RESOURCES = ["products"] as const;
export const SECRET_KEYS = ["api_key"] as const;

export const sampleSource = strictObject({
  ...sourceCommonShape("UTC"),
  preset: z.literal("sample").describe("A sample vendor."),
  api_key: secret("Sample API key.", "api_key"),
  api_key_file: secretFile("api_key"),
  resources: presetResources("sample", RESOURCES),
})
  .transform((source) => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A sample account.");

export type SampleSourceConfig = z.output<typeof sampleSource>;
`,
  "index.ts": `import type { RestResourceConfig } from "../../../config/types.js";
import type { SourceDeps } from "../../deps.js";
import { RestPoller } from "../../rest/poller.js";
import type { Source } from "../../source.js";
import { definePreset } from "../spec.js";
import { RESOURCES, SECRET_KEYS, sampleSource, type SampleSourceConfig } from "./config.js";

function createSampleSource(config: SampleSourceConfig, deps: SourceDeps): Source {
  const http = deps.httpClient({ baseUrl: config.base_url ?? "https://sample.invalid", headers: { "x-api-key": config.api_key } });
  const pollers = config.resources.map((resource) => {
    const rest: RestResourceConfig = { ...resource, path: "/" + resource.name, query: {}, id: "id", pagination: { style: "none" } };
    return new RestPoller(http, rest, config);
  });
  return { name: config.name, http, pollers, close: () => http.close() };
}

export const samplePreset = definePreset({
  name: "sample",
  schema: sampleSource,
  resources: RESOURCES,
  secretKeys: SECRET_KEYS,
  create: createSampleSource,
});
`,
};

let copy: string;
let server: Server;
let baseUrl: string;
const products = [{ id: 1, name: "chair" }, { id: 2, name: "table" }];

/** The copy's CLI in a child process (asynchronous: the sample API answers from this process). */
function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", TSX, join(copy, "src", "cli", "entry.ts"), ...args], {
    cwd,
    env: { ...process.env, RETROHOOK_LOG_LEVEL: "warn", SAMPLE_KEY: "k-123" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) => child.on("close", (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

beforeAll(async () => {
  // Kept for the whole file (tempDir folders go after each test).
  copy = mkdtempSync(join(tmpdir(), "retrohook-sample-preset-"));
  cpSync(join(ROOT, "src"), join(copy, "src"), { recursive: true });
  for (const file of ["package.json", "tsconfig.json"]) cpSync(join(ROOT, file), join(copy, file));
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  const tsconfig = JSON.parse(readFileSync(join(copy, "tsconfig.json"), "utf8")) as { include: string[]; exclude?: string[] };
  writeFileSync(join(copy, "tsconfig.json"), JSON.stringify({ ...tsconfig, include: ["src"] }));

  // The new folder …
  mkdirSync(join(copy, "src", "sources", "presets", "sample"));
  for (const [name, text] of Object.entries(SAMPLE_FILES)) writeFileSync(join(copy, "src", "sources", "presets", "sample", name), text);
  // … and its entry in the list (with its import): the only change to an existing file.
  const listPath = join(copy, "src", "sources", "presets", "index.ts");
  const list = readFileSync(listPath, "utf8");
  const edited = list
    .replace(/^(import type \{ PresetSpec \} from "\.\/spec\.js";)$/m, '$1\nimport { samplePreset } from "./sample/index.js";')
    .replace(/wfirmaPreset\] as const;/, "wfirmaPreset, samplePreset] as const;");
  const before = new Set(list.split("\n"));
  const after = new Set(edited.split("\n"));
  expect(edited.split("\n").filter((line) => !before.has(line))).toEqual([
    'import { samplePreset } from "./sample/index.js";',
    "export const PRESETS = [fakturowniaPreset, facturascriptsPreset, fakturoidPreset, wfirmaPreset, samplePreset] as const;",
  ]);
  expect(list.split("\n").filter((line) => !after.has(line))).toHaveLength(1);
  writeFileSync(listPath, edited);

  server = createServer((req, res) => {
    if (req.headers["x-api-key"] !== "k-123") return void res.writeHead(401).end();
    if (req.url?.startsWith("/products")) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(products));
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(copy, { recursive: true, force: true });
});

describe("a new preset is one folder and one list entry", () => {
  it("type-checks with the sample preset's types taken from its schema", () => {
    execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(copy, "tsconfig.json"), "--noEmit"], { stdio: "pipe", timeout: 180_000 });
  }, 200_000);

  it("appears in `retrohook schema`, with its keys, resources and secret file key", async () => {
    const result = await cli(["schema"], copy);
    expect(result.code).toBe(0);
    const text = result.stdout;
    expect(text).toContain('"const": "sample"');
    expect(text).toContain("Sample API key.");
    expect(text).toContain("api_key_file");
    expect(text).toContain("preset: fakturownia|facturascripts|fakturoid|wfirma|sample");
  });

  it("is validated like the real presets: unknown resources, typos and missing secrets are named", async () => {
    const dir = tempDir();
    const bad = { sources: [{ name: "s", preset: "sample", base_url: baseUrl, resources: ["prodcts"], api_kei: "x" }] };
    writeFileSync(join(dir, "config.yaml"), stringify(bad));
    const result = await cli(["validate", "-c", "config.yaml"], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('sources[0].resources[0]: resource "prodcts" is not supported by preset sample; did you mean "products"?');
    expect(result.stderr).toContain('sources[0].api_kei: unknown key; did you mean "api_key"?');
    expect(result.stderr).toContain("sources[0].api_key: required (or api_key_file)");
    const typo = { sources: [{ name: "s", preset: "sampel", api_key: "x" }] };
    writeFileSync(join(dir, "config.yaml"), stringify(typo));
    expect((await cli(["validate", "-c", "config.yaml"], dir)).stderr).toContain('unknown preset "sampel" (did you mean "sample"?); valid presets: fakturownia, facturascripts, fakturoid, wfirma, sample');
  });

  it("polls: `once --dry-run` with start backfill prints one product.created per record", async () => {
    const dir = tempDir();
    const config = { state: { url: "sqlite://./state.sqlite" }, sources: [{ name: "shop", preset: "sample", base_url: baseUrl, api_key: "${SAMPLE_KEY}", start: "backfill" }] };
    writeFileSync(join(dir, "config.yaml"), stringify(config));
    const result = await cli(["once", "--dry-run", "-c", "config.yaml"], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("shop/products incremental: ok: 2 records, 2 events\n");
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; source: string; record_id: string });
    expect(events.map((e) => [e.type, e.source, e.record_id])).toEqual([
      ["product.created", "shop", "1"],
      ["product.created", "shop", "2"],
    ]);
  });
});
