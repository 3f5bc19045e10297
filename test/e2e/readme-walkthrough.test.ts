/**
 * README.md followed top to bottom as a new user would, with the README's own text: the quick
 * start, "A real setup" with its config.yaml, the Operations endpoints, the troubleshooting
 * commands, and the Node and Python signature checks run on what retrohook really sent. Only the
 * vendor's and the receiver's origins (and the server's port) are swapped for local ones.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli, startCli, waitFor } from "../helpers/cli.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { freePort } from "../helpers/ports.js";
import { readme, readmeBlock } from "../helpers/readme.js";
import { startReceiver, webhookHeaders, type ReceivedRequest, type Receiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp.js";
import { adminRequest } from "../server/harness.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PLAIN = "plain-ascii-secret-for-raw-mode";

/** python3 when present and new enough for the README's snippet (str.removeprefix: 3.9). */
const python = ((): { ok: true } | { ok: false; why: string } => {
  const result = spawnSync("python3", ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
  if (result.status !== 0) return { ok: false, why: "python3 not found on this machine" };
  const [major, minor] = result.stdout.trim().split(".").map(Number);
  return major! > 3 || (major === 3 && minor! >= 9) ? { ok: true } : { ok: false, why: `python3 is ${result.stdout.trim()}; the README's snippet needs 3.9+` };
})();

/**
 * The README's config.yaml with the vendor and receiver at local origins and the server on a free
 * port (a fixed one, like the default 8080: `status` finds the running daemon there).
 */
function readmeConfig(vendorUrl: string, receiverUrl: string, port: number): string {
  let text = readmeBlock("yaml", "type: rest").body;
  for (const [from, to] of [
    ["https://legacy.example/api", `${vendorUrl}/api`],
    ["https://erp.internal/hooks", receiverUrl],
  ]) {
    expect(text.split(from!).length - 1, `README config: ${from} once`).toBe(1);
    text = text.replace(from!, to!);
  }
  return `${text}\nserver: { listen: "127.0.0.1:${port}" }\n`;
}

interface SnippetResult {
  ok: boolean;
  output: string;
}

/** The README's Node snippet on one request (`raw`: its commented plain-string line instead). */
function nodeSnippet(request: ReceivedRequest, secret: string, raw = false): SnippetResult {
  let snippet = readmeBlock("js", "standardwebhooks").body;
  if (raw) {
    const whsecLine = /^const wh = new Webhook\(process\.env\.RETROHOOK_SECRET\);/m;
    const rawLine = /^\/\/ (const wh = new Webhook\(secret, \{ format: "raw" \}\);)/m;
    expect(snippet, "README's Node snippet: the whsec_ line and the commented raw line").toMatch(whsecLine);
    expect(snippet).toMatch(rawLine);
    snippet = snippet.replace(whsecLine, "// $&").replace(rawLine, "$1");
  }
  const code = [
    `const rawBody = ${JSON.stringify(request.body)};`,
    `const headers = ${JSON.stringify(webhookHeaders(request))};`,
    `const secret = ${JSON.stringify(secret)};`,
    snippet,
    "process.stdout.write(JSON.stringify(event));",
  ].join("\n");
  // `npm i standardwebhooks`: the project's own dependency, resolved from the checkout.
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT, env: { ...process.env, RETROHOOK_SECRET: secret }, encoding: "utf8" });
  return { ok: result.status === 0, output: result.status === 0 ? result.stdout : result.stderr };
}

const tampered = (request: ReceivedRequest): ReceivedRequest => ({ ...request, body: request.body.replace(/}$/, ',"x":1}') });

/** Deliveries of the real setup, kept for the Python check: [request, secret] pairs. */
const signed: Array<[ReceivedRequest, string]> = [];

let api: FakeRest;
let erp: Receiver;
beforeAll(async () => {
  api = await startFakeRest({ path: "/api/costs" });
  erp = await startReceiver();
});
afterAll(async () => {
  await api.close();
  await erp.close();
});

describe("README: quick start", () => {
  it("`npm ci && npx retrohook demo`: npx finds the checkout's CLI, built by npm ci's prepare", () => {
    expect(readmeBlock("sh", "npx retrohook demo").body).toMatch(/^npm ci && npx retrohook demo\b/m);
    expect(existsSync(join(ROOT, "dist", "cli", "entry.js")), "dist/ is missing: `npm ci` runs prepare, which builds it").toBe(true);
    const result = spawnSync("npx", ["--no-install", "retrohook", "--version"], { cwd: ROOT, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version);
  }, 60_000);

  it("`retrohook demo` with no options, in an empty folder: verified webhooks, state in ./data, Ctrl-C stops it with exit 0", async () => {
    const dir = tempDir();
    const demo = startCli(["demo"], {}, { cwd: dir });
    try {
      await waitFor(() => /✓ .*\(signature verified\)/.test(demo.stdout()), 60_000, "a verified webhook");
    } finally {
      demo.child.kill("SIGINT");
    }
    const result = await demo.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/stopping: \d+ webhooks received and verified/);
    expect(existsSync(join(dir, "data", "demo.sqlite"))).toBe(true);
  }, 90_000);
});

describe("README: start from config.example.yaml or examples/", () => {
  it("each, copied to config.yaml with its variables set, passes `npx retrohook validate -c config.yaml`; Fakturoid's budget line is the README's", async () => {
    // examples/docker-config.yaml reads /run/secrets: validated through the image's entrypoint by .ci/docker-replay.sh.
    const starts = ["config.example.yaml", ...readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".yaml") && f !== "docker-config.yaml").map((f) => `examples/${f}`)];
    expect(starts.length).toBeGreaterThanOrEqual(5);
    const results = await Promise.all(
      starts.map(async (file) => {
        const text = readFileSync(join(ROOT, file), "utf8");
        const dir = tempDir();
        writeFileSync(join(dir, "config.yaml"), text);
        const env = Object.fromEntries([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map(([, name]) => [name!, name!.endsWith("WEBHOOK_SECRET") ? WHSEC : `${name!.toLowerCase()}-value`]));
        return { file, result: await runCli(["validate", "-c", "config.yaml"], env, 60_000, { cwd: dir }) };
      }),
    );
    for (const { file, result } of results) {
      expect(result.code, `${file}: ${result.stderr}`).toBe(0);
      expect(result.stdout, file).toMatch(/^config .*config\.yaml: ok$/m);
    }
    const [, every] = /1,500 a month with five resources: one pass every ([\d.]+ h) on average/.exec(readme()) ?? [];
    expect(every, "README's Fakturoid budget example").toBeDefined();
    expect(results.find((r) => r.file === "examples/fakturoid.yaml")!.result.stdout).toMatch(new RegExp(`budget: 1500 requests per month; .* permits one pass every ${every!.replace(".", "\\.")} on average`));
  }, 60_000);
});

describe("README: a real setup, with its config.yaml", () => {
  it("schema for the editor, validate, dry run, run; Operations endpoints, status and test-target while it runs", async () => {
    for (let i = 0; i < 2; i += 1) api.create();
    const dir = tempDir();
    const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, env, 60_000, { cwd: dir });
    const env = { LEGACY_TOKEN: api.token, ERP_WEBHOOK_SECRET: WHSEC };
    writeFileSync(join(dir, "config.yaml"), readmeConfig(api.url, erp.url, await freePort()));

    // The config's first line points editors at ./retrohook.schema.json: `retrohook schema > retrohook.schema.json`.
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toMatch(/^# yaml-language-server: \$schema=\.\/retrohook\.schema\.json\n/);
    const schema = await cli(["schema"]);
    expect(schema.code).toBe(0);
    writeFileSync(join(dir, "retrohook.schema.json"), schema.stdout);
    const validateSchema = new Ajv2020({ strict: false, allowUnionTypes: true }).compile(JSON.parse(readFileSync(join(dir, "retrohook.schema.json"), "utf8")) as object);
    expect(validateSchema(parse(readmeBlock("yaml", "type: rest").body)), JSON.stringify(validateSchema.errors)).toBe(true);

    // 2. `npx retrohook validate -c config.yaml`: exit 2 naming every problem by its path, then ok.
    const unset = await cli(["validate", "-c", "config.yaml"]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/sources\[0\]\.headers\.Authorization: environment variable LEGACY_TOKEN is not set/);
    expect(unset.stderr).toMatch(/targets\[0\]\.secret: environment variable ERP_WEBHOOK_SECRET is not set/);
    const valid = await cli(["validate", "-c", "config.yaml"], env);
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout).toMatch(/config .*config\.yaml: ok/);
    expect(valid.stdout).toMatch(/erp → .*events cost_invoice\.\*/);

    // 3. `npx retrohook once --dry-run -c config.yaml`: nothing sent or stored; a baseline sends nothing.
    const dry = await cli(["once", "--dry-run", "-c", "config.yaml"], env);
    expect(dry.code, dry.stderr).toBe(0);
    for (const line of dry.stdout.split("\n").filter(Boolean)) expect(JSON.parse(line)).toMatchObject({ id: expect.stringMatching(/^evt_/) });
    expect(dry.stderr).toMatch(/legacy\/cost_invoices: 2 existing records recorded as baseline/);
    expect(existsSync(join(dir, "data"))).toBe(false);
    expect(erp.requests).toHaveLength(0);

    // 4. `npx retrohook run -c config.yaml`: the first pass records silently, then changes become events.
    const daemon = startCli(["run", "-c", "config.yaml"], { ...env, RETROHOOK_LOG_LEVEL: "info" }, { cwd: dir });
    try {
      await waitFor(() => /pass done/.test(daemon.stderr()) && /server listening on http:\/\/127\.0\.0\.1:\d+/.test(daemon.stderr()), 20_000, "the first pass");
      const base = /server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(daemon.stderr())![1]!;
      expect(existsSync(join(dir, "data", "retrohook.sqlite"))).toBe(true);
      expect(erp.requests).toHaveLength(0);

      // Operations: /healthz, /readyz, /metrics and `GET /api` (no admin_token set, loopback).
      expect(await adminRequest(base, "GET", "/healthz")).toMatchObject({ status: 200 });
      expect(await adminRequest(base, "GET", "/readyz")).toMatchObject({ status: 200, body: { ready: true } });
      expect((await adminRequest(base, "GET", "/metrics")).text).toMatch(/^# HELP /m);
      const endpoints = (await adminRequest<{ endpoints: string[] }>(base, "GET", "/api")).body.endpoints;
      expect(endpoints).toContainEqual(expect.stringMatching(/^POST \/api\/sources\/\S+\/pass — run a pass of this source now/));

      // A change, and "run a pass now" instead of waiting for the minute's schedule.
      api.update(1, { status: "paid" });
      api.create({ name: "fresh" });
      const pass = await adminRequest<{ state: string }>(base, "POST", "/api/sources/legacy/pass", { wait: true });
      expect(pass.body.state, pass.text).toBe("done");
      await erp.waitFor(3, 10_000);
      expect(erp.bodies<{ type: string; record_id: string }>().map((b) => `${b.type}:${b.record_id}`).sort()).toEqual(["cost_invoice.created:3", "cost_invoice.paid:1", "cost_invoice.updated:1"]);

      // Troubleshooting's commands as written, with the default ./config.yaml.
      const status = await cli(["status"], env);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^ {2}cost_invoices\s+ok/m);
      expect(status.stdout).not.toMatch(/read from the state file/);
      const test = await cli(["test-target", "erp"], env);
      expect(test.code, test.stderr).toBe(0);
      expect(test.stdout).toMatch(/^erp: HTTP 200 in \d+ ms/);
      // The same target with a plain-string secret (raw key bytes), for the snippets' raw mode.
      expect((await cli(["test-target", "erp"], { ...env, ERP_WEBHOOK_SECRET: PLAIN })).code).toBe(0);
      await erp.waitFor(5);
    } finally {
      daemon.child.kill("SIGTERM");
    }
    expect((await daemon.done).code).toBe(0);
    signed.push(...erp.requests.slice(0, 4).map((r): [ReceivedRequest, string] => [r, WHSEC]), [erp.requests[4]!, PLAIN]);
    expect(JSON.parse(erp.requests[3]!.body)).toMatchObject({ type: "retrohook.test" });
  }, 120_000);

  it("the README's Node snippet verifies every delivery (whsec_ and raw mode) and throws on a tampered body", () => {
    expect(signed, "the real setup above delivered nothing").toHaveLength(5);
    for (const [request, secret] of signed) {
      const raw = !secret.startsWith("whsec_");
      const verified = nodeSnippet(request, secret, raw);
      expect(verified.ok, verified.output).toBe(true);
      expect(JSON.parse(verified.output)).toEqual(JSON.parse(request.body));
      expect(nodeSnippet(tampered(request), secret, raw).output).toMatch(/signature/i);
    }
    expect(nodeSnippet(signed[0]![0], WHSEC.replace("MfK", "AAA")).ok).toBe(false);
  }, 60_000);

  it.skipIf(!python.ok)(`the README's Python snippet (standard library only) accepts every delivery and rejects tampering${python.ok ? "" : ` — skipped: ${python.why}`}`, () => {
    expect(signed, "the real setup above delivered nothing").toHaveLength(5);
    const cases = signed.flatMap(([request, secret]) => [
      { secret, headers: webhookHeaders(request), body: request.body, expect: true },
      { secret, headers: webhookHeaders(tampered(request)), body: tampered(request).body, expect: false },
    ]);
    cases.push({ ...cases[0]!, secret: PLAIN, expect: false });
    const code = `${readmeBlock("python", "def verify").body}

import json, sys
cases = json.load(sys.stdin)
print(json.dumps([verify(c["secret"], c["headers"], c["body"].encode()) for c in cases]))
`;
    const result = spawnSync("python3", ["-c", code], { input: JSON.stringify(cases), encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(cases.map((c) => c.expect));
  });
});
