import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeRest } from "../../helpers/fake-rest.js";
import { startReceiver } from "../../helpers/receiver.js";
import { AdminClient } from "../lib/admin.js";
import { serverUrl, spawnCli, stopCli, waitUntil } from "../lib/cli.js";
import { restSource, target, writeConfig } from "../lib/config.js";
import { seededRandom } from "../lib/ledger.js";
import { MALFORMED_CONFIGS } from "../lib/malformed-configs.js";
import type { CommandRunner } from "../lib/once.js";
import { rawRequest } from "../lib/raw-http.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SECRETS } from "../lib/secrets.js";

/**
 * Bad input. Configs: every malformed config through `retrohook validate` (and one through
 * `run`) must exit 2 with a message naming the file and the place, without a stack trace.
 * Admin API: a running daemon gets malformed JSON, huge bodies, path traversal on the UI's
 * static files, wrong methods, wrong tokens, broken HTTP and a seeded random fuzz; every answer
 * must be a 4xx (or a 2xx for a valid request), never a 5xx, and the daemon must stay up.
 */

export interface ConfigCaseResult {
  name: string;
  code: number | null;
  pathNamed: boolean;
  fileNamed: boolean;
  stackTrace: boolean;
  message: string;
}

export async function badConfigs(options: { run: CommandRunner; scratch: Scratch; parallel?: number }): Promise<ConfigCaseResult[]> {
  const dir = options.scratch.dir("configs");
  writeFileSync(join(dir, "token.txt"), `${SECRETS.fakturowniaToken}\n`);
  const cases = [
    ...MALFORMED_CONFIGS.map((c) => ({ ...c, command: "validate" })),
    { name: "run: listen on all interfaces without admin_token", yaml: `server: { listen: "0.0.0.0:0" }\nsources:\n  - { name: f, preset: fakturownia, domain: acme, api_token: ${SECRETS.fakturowniaToken} }\n`, path: "server", command: "run" },
  ];
  const results: ConfigCaseResult[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const index = next++;
      const c = cases[index]!;
      const file = join(dir, `case-${index}.yaml`);
      writeFileSync(file, c.yaml);
      const exit = await options.run([c.command, "-c", file]);
      const message = exit.stderr.trim();
      results[index] = { name: c.name, code: exit.code, pathNamed: message.includes(c.path), fileNamed: message.includes(file), stackTrace: /\n\s+at .+\(.+:\d+:\d+\)/.test(message), message: message.slice(0, 300) };
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 1 }, worker));
  return results;
}

export interface FuzzResult {
  requests: number;
  byClass: Record<string, number>;
  serverErrors: string[];
  /** Requests that should have been refused but were answered 2xx. */
  wronglyAccepted: string[];
  /** Of those: bodies with misspelt (unknown) field names, acted on as if the field were absent. */
  unknownFieldsAccepted: string[];
  traversalLeaks: number;
  aliveAfterEach: boolean;
  cleanExit: boolean;
  categories: Record<string, number>;
}

const ROUTES_GET = ["/api", "/api/status", "/api/sources", "/api/sources/legacy", "/api/targets", "/api/targets/erp", "/api/log", "/api/dead-letters", "/api/records?source=legacy&resource=items&id=1", "/metrics", "/healthz", "/readyz", "/", "/ui/app.js", "/ui/app.css"];
const ROUTES_POST = ["/api/sources/legacy/pass", "/api/sources/legacy/reset", "/api/targets/erp/pause", "/api/targets/erp/resume", "/api/targets/erp/test", "/api/targets/erp/replay", "/api/dead-letters/replay", "/api/events/evt_nope/replay", "/login"];

export async function adminFuzz(options: { scratch: Scratch; log: Logger; randomRequests: number }): Promise<FuzzResult> {
  const api = await startFakeRest({ token: SECRETS.restToken });
  const receiver = await startReceiver();
  api.seed(10);
  const dir = options.scratch.dir("fuzz");
  const config = writeConfig(dir, { sources: [restSource(api.url)], targets: [target(receiver.url)] });
  const daemon = spawnCli(["run", "-c", config], { label: "admin fuzz daemon" });
  const result: FuzzResult = { requests: 0, byClass: {}, serverErrors: [], wronglyAccepted: [], unknownFieldsAccepted: [], traversalLeaks: 0, aliveAfterEach: true, cleanExit: false, categories: {} };
  try {
    const base = await serverUrl(daemon);
    const admin = new AdminClient(base, SECRETS.adminToken);
    const host = new URL(base).host;
    await waitUntil(async () => (await admin.json<{ resources: Array<{ initialized: boolean }> }>("GET", "/api/sources/legacy")).resources[0]!.initialized, 30_000, "baseline", 100);
    const note = (category: string, what: string, status: number, expect: "4xx" | "any"): void => {
      result.requests += 1;
      result.categories[category] = (result.categories[category] ?? 0) + 1;
      const klass = status === 0 ? "closed" : `${Math.floor(status / 100)}xx`;
      result.byClass[klass] = (result.byClass[klass] ?? 0) + 1;
      if (status >= 500) result.serverErrors.push(`${category}: ${what} → ${status}`);
      if (expect === "4xx" && status >= 200 && status < 300) result.wronglyAccepted.push(`${category}: ${what} → ${status}`);
    };
    const alive = async (category: string): Promise<void> => {
      if (daemon.exited() || !(await admin.healthy())) {
        result.aliveAfterEach = false;
        result.serverErrors.push(`the daemon was down after ${category}`);
        throw new Error(`daemon down after ${category}`);
      }
    };
    const bearer = { authorization: `Bearer ${SECRETS.adminToken}` };

    // Wrong tokens.
    const tokens: Array<[string, Record<string, string>]> = [
      ["none", {}],
      ["wrong", { authorization: "Bearer wrong-token" }],
      ["empty bearer", { authorization: "Bearer " }],
      ["basic", { authorization: `Basic ${Buffer.from(`admin:${SECRETS.adminToken}`).toString("base64")}` }],
      ["token plus junk", { authorization: `Bearer ${SECRETS.adminToken}x` }],
      ["token prefix", { authorization: `Bearer ${SECRETS.adminToken.slice(0, -1)}` }],
      ["lower-case scheme, two tokens", { authorization: `bearer ${SECRETS.adminToken} ${SECRETS.adminToken}` }],
      ["forged session cookie", { cookie: "retrohook_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }],
      ["token in the query only", {}],
    ];
    for (const [name, headers] of tokens) {
      for (const path of ["/api/status", "/api/sources/legacy/pass", "/api/targets/erp/pause"]) {
        const method = path.endsWith("status") ? "GET" : "POST";
        const url = name === "token in the query only" ? `${path}?token=${SECRETS.adminToken}` : path;
        const answer = await admin.request(method, url, { headers, auth: false, ...(method === "POST" ? { body: "{}" } : {}) });
        note("wrong tokens", `${name} ${method} ${path}`, answer.status, "4xx");
      }
    }
    const longToken = await rawRequest(base, `GET /api/status HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${"A".repeat(100_000)}\r\nConnection: close\r\n\r\n`);
    note("wrong tokens", "100 kB token", longToken.status, "4xx");
    await alive("wrong tokens");

    // Wrong methods.
    for (const path of ROUTES_GET.filter((p) => p !== "/")) {
      for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
        const answer = await admin.request(method, path, { body: method === "POST" || method === "PUT" || method === "PATCH" ? "{}" : undefined });
        note("wrong methods", `${method} ${path}`, answer.status, "4xx");
      }
    }
    for (const path of ROUTES_POST) {
      for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
        const answer = await admin.request(method, path, { body: method === "PUT" || method === "PATCH" ? "{}" : undefined });
        note("wrong methods", `${method} ${path}`, answer.status, "4xx");
      }
    }
    for (const method of ["TRACE", "CONNECT", "PROPFIND", "FOOBAR"]) {
      const answer = await rawRequest(base, `${method} /api/status HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${SECRETS.adminToken}\r\nConnection: close\r\n\r\n`);
      note("wrong methods", `${method} /api/status`, answer.status, "4xx");
    }
    await alive("wrong methods");

    // Malformed JSON and wrong content types: every route that reads a body must refuse them.
    const bodies: Array<[string, string, string]> = [
      ["unclosed", "{", "application/json"],
      ["array", "[]", "application/json"],
      ["null", "null", "application/json"],
      ["string", '"pass"', "application/json"],
      ["number", "42", "application/json"],
      ["deep nesting", `${"[".repeat(200_000)}${"]".repeat(200_000)}`, "application/json"],
      ["invalid UTF-8 and NUL", "\u00ff\u00fe{\u0000}", "application/json"],
      ["trailing garbage", '{"mode":"reconcile"} x', "application/json"],
      ["text/plain", '{"mode":"reconcile"}', "text/plain"],
      ["form", "mode=reconcile", "application/x-www-form-urlencoded"],
    ];
    for (const path of ROUTES_POST.filter((p) => p.startsWith("/api"))) {
      for (const [name, body, type] of bodies) {
        const answer = await admin.request("POST", path, { body, headers: { "content-type": type } });
        note("malformed JSON", `${name} → POST ${path}`, answer.status, "4xx");
      }
    }
    // Fields of the wrong type.
    const mistyped: Array<[string, unknown]> = [
      ["/api/sources/legacy/pass", { mode: 5 }],
      ["/api/sources/legacy/pass", { mode: "everything" }],
      ["/api/sources/legacy/pass", { wait: "yes" }],
      ["/api/sources/legacy/reset", { accept_deletes: "true" }],
      ["/api/sources/legacy/reset", { resource: "../../etc" }],
      ["/api/sources/legacy/reset", { resource: { $gt: "" } }],
      ["/api/targets/erp/pause", { reason: { text: "x" } }],
      ["/api/dead-letters/replay", { target: ["erp"] }],
      ["/api/dead-letters/replay", { target: "nope" }],
    ];
    for (const [path, body] of mistyped) {
      const answer = await admin.request("POST", path, { body: JSON.stringify(body) });
      note("mistyped fields", `${JSON.stringify(body)} → POST ${path}`, answer.status, "4xx");
    }
    // Misspelt field names: silently ignoring them turns "reset one resource" into "reset all".
    const misspelt: Array<[string, string]> = [
      ["/api/sources/legacy/reset", '{"resouce": "items"}'],
      ["/api/sources/legacy/pass", '{"mdoe": "reconcile"}'],
      ["/api/targets/erp/pause", '{"reasn": "maintenance"}'],
      ["/api/dead-letters/replay", '{"targt": "erp"}'],
      ["/api/sources/legacy/reset", '{"resource": "items", "__proto__": {"accept_deletes": true}}'],
    ];
    for (const [path, body] of misspelt) {
      const answer = await admin.request("POST", path, { body });
      note("misspelt fields", `${body} → POST ${path}`, answer.status, "4xx");
      if (answer.status >= 200 && answer.status < 300) result.unknownFieldsAccepted.push(`${body} → POST ${path}`);
    }
    await admin.request("POST", "/api/targets/erp/resume", { body: "{}" });
    await alive("malformed JSON");

    // Huge bodies.
    const big = await admin.request("POST", "/api/sources/legacy/pass", { body: JSON.stringify({ mode: "x".repeat(2 * 1024 * 1024) }) });
    note("huge bodies", "2 MB JSON", big.status, "4xx");
    const declared = await rawRequest(base, `POST /api/targets/erp/pause HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${SECRETS.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{}`);
    note("huge bodies", "declared 10 GB", declared.status, "4xx");
    const chunked = await new Promise<number>((resolve) => {
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 20) return controller.close();
          sent += 1;
          controller.enqueue(chunk);
        },
      });
      fetch(`${base}/api/sources/legacy/pass`, { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit & { duplex: string })
        .then(async (r) => {
          await r.text();
          resolve(r.status);
        })
        .catch(() => resolve(0));
    });
    note("huge bodies", "20 MB chunked stream", chunked, "4xx");
    const login = await admin.request("POST", "/login", { body: `token=${"x".repeat(3 * 1024 * 1024)}`, headers: { "content-type": "application/x-www-form-urlencoded" }, auth: false });
    note("huge bodies", "3 MB sign-in form", login.status, "4xx");
    await alive("huge bodies");

    // Path traversal on the UI's static files (raw: fetch would normalise the dots away).
    const traversals = [
      "/ui/../../../../etc/passwd",
      "/ui/..%2f..%2f..%2fetc%2fpasswd",
      "/ui/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/ui/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
      "/ui/....//....//etc/passwd",
      "/ui/..\\..\\..\\etc\\passwd",
      "/ui/app.js%00.png",
      "/ui/app.js/../../../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd",
      "//etc/passwd",
      "/ui/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
      "/ui/../../package.json",
      "/ui/../config.yaml",
      "/ui/./app.js",
      "/api/events/..%2f..%2fconfig.yaml",
      "/api/sources/%2e%2e",
      "/ui/%",
      "/ui/" + "a".repeat(10_000),
      "http://evil.example/etc/passwd",
      "*",
    ];
    for (const path of traversals) {
      const answer = await rawRequest(base, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${SECRETS.adminToken}\r\nConnection: close\r\n\r\n`);
      const leaked = /root:x:0:0|"name": "retrohook"|admin_token|BEGIN RSA/.test(answer.text);
      if (leaked) result.traversalLeaks += 1;
      note("path traversal", path.slice(0, 60), answer.status, "4xx");
    }
    await alive("path traversal");

    // Broken HTTP.
    const garbage = [
      "GARBAGE\r\n\r\n",
      "GET /\r\n\r\n",
      `GET /api/status HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${"b".repeat(200_000)}\r\n\r\n`,
      `POST /api/targets/erp/pause HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${SECRETS.adminToken}\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `GET /api/status HTTP/1.1\r\nHost: ${host}\r\nBad Header Name: x\r\n\r\n`,
      `GET /api/status HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer \u0000${SECRETS.adminToken}\r\n\r\n`,
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
      `GET /api/status HTTP/9.9\r\nHost: ${host}\r\n\r\n`,
    ];
    for (const raw of garbage) {
      const answer = await rawRequest(base, raw, 3000);
      note("broken HTTP", typeof raw === "string" ? raw.slice(0, 40).replace(/\r\n/g, " ") : "TLS hello", answer.status, "4xx");
    }
    await alive("broken HTTP");

    // Seeded random fuzz.
    const random = seededRandom(8);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const fuzzSegments = ["", "..", "%2e%2e", "%00", "%ff", "ünïcödé", "💥", "a".repeat(2000), "legacy", "erp", "evt_x", "%", "%%", "?", "#", ";", "\\", "~", "$", "{id}"];
    const fuzzBodies = ["", "{}", "{", "null", "[1,2,3]", '{"mode":"reconcile","wait":true}', '{"target":"erp"}', '{"reason":"' + "r".repeat(5000) + '"}', "\u0000\u0001", JSON.stringify({ a: { b: { c: [1, { d: null }] } } })];
    for (let i = 0; i < options.randomRequests; i += 1) {
      const template = pick([...ROUTES_GET, ...ROUTES_POST]);
      const segments = template.split("/");
      if (segments.length > 2 && random() < 0.6) segments[1 + Math.floor(random() * (segments.length - 1))] = encodeURIComponent(pick(fuzzSegments)).replace(/%25/g, random() < 0.5 ? "%" : "%25");
      const path = segments.join("/") || "/";
      const method = pick(["GET", "POST", "POST", "PUT", "DELETE", "HEAD"]);
      const withAuth = random() < 0.8;
      const body = method === "GET" || method === "HEAD" ? undefined : pick(fuzzBodies);
      let status: number;
      try {
        status = (await admin.request(method, path, { ...(body !== undefined ? { body } : {}), auth: withAuth, timeoutMs: 15_000 })).status;
      } catch {
        status = (await rawRequest(base, `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${withAuth ? `Authorization: Bearer ${SECRETS.adminToken}\r\n` : ""}Connection: close\r\n\r\n`)).status;
      }
      note("random fuzz", `${method} ${path.slice(0, 60)}`, status, "any");
    }
    await alive("random fuzz");
    const status = await admin.request("GET", "/api/status");
    note("after the fuzz", "GET /api/status", status.status, "any");
    if (status.status !== 200) result.serverErrors.push(`status after the fuzz: ${status.status}`);
  } catch (error) {
    options.log(`  admin fuzz: ${error instanceof Error ? error.message : String(error)}`);
    if (!result.serverErrors.length) result.serverErrors.push(`harness: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    const exit = await stopCli(daemon);
    result.cleanExit = exit.code === 0;
    await api.close();
    await receiver.close();
  }
  return result;
}

export function badInputRows(configs: ConfigCaseResult[], fuzz: FuzzResult): Row[] {
  const exit2 = configs.filter((c) => c.code === 2).length;
  const named = configs.filter((c) => c.pathNamed).length;
  const files = configs.filter((c) => c.fileNamed).length;
  const traces = configs.filter((c) => c.stackTrace).length;
  const badConfigs = configs.filter((c) => c.code !== 2 || !c.pathNamed || c.stackTrace);
  const configOk = badConfigs.length === 0;
  const fuzzOk = fuzz.serverErrors.length === 0 && fuzz.wronglyAccepted.length === 0 && fuzz.traversalLeaks === 0 && fuzz.aliveAfterEach && fuzz.cleanExit;
  return [
    {
      suite: "Bad input",
      scenario: `${configs.length} malformed configs through validate / run`,
      figures: `exit 2: ${exit2}/${configs.length}; place named (config path or line): ${named}/${configs.length}; file named: ${files}/${configs.length}${files < configs.length ? ` (not: ${configs.filter((c) => !c.fileNamed).map((c) => c.name).join(", ")})` : ""}; stack traces ${traces}`,
      result: configOk ? "pass" : "FAIL",
      ...(configOk ? {} : { notes: badConfigs.slice(0, 5).map((c) => `${c.name}: exit ${c.code}, ${c.message.slice(0, 160)}`).join("; ") }),
    },
    {
      suite: "Bad input",
      scenario: `${fuzz.requests} hostile admin API requests (${Object.entries(fuzz.categories).map(([k, v]) => `${k} ${v}`).join(", ")})`,
      figures: `answers ${Object.entries(fuzz.byClass).sort().map(([k, v]) => `${k} ${v}`).join(", ")}; 5xx ${fuzz.serverErrors.length}; bad requests answered 2xx ${fuzz.wronglyAccepted.length} (of them misspelt field names acted on as absent: ${fuzz.unknownFieldsAccepted.length}); files served by traversal ${fuzz.traversalLeaks}; daemon up after every batch: ${fuzz.aliveAfterEach ? "yes" : "no"}; clean stop: ${fuzz.cleanExit ? "yes" : "no"}`,
      result: fuzzOk ? "pass" : "FAIL",
      ...(fuzzOk ? {} : { notes: [...fuzz.serverErrors, ...fuzz.wronglyAccepted].slice(0, 6).join("; ") }),
    },
  ];
}
