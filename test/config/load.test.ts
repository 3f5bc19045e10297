import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { findConfigPath, loadConfig, parseConfig } from "../../src/config/load.js";
import { isRestSource, type Config, type RestSourceConfig } from "../../src/config/types.js";
import type { FakturowniaSourceConfig } from "../../src/sources/presets/fakturownia/config.js";
import type { WfirmaSourceConfig } from "../../src/sources/presets/wfirma/config.js";
import { ConfigError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";
import { thrown } from "../helpers/thrown.js";

const EXAMPLE = resolve(import.meta.dirname, "../../config.example.yaml");
const EXAMPLE_ENV = {
  FAKTUROWNIA_API_TOKEN: "SECRET-abc123",
  LEGACY_TOKEN: "SECRET-legacy-789",
  ERP_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
};
const CONFIG_PATH = "/srv/retrohook/config.yaml";

const parse = (text: string, env: NodeJS.ProcessEnv = {}): Config => parseConfig(text, { path: CONFIG_PATH, env });

const parseError = (text: string, env: NodeJS.ProcessEnv = {}, path = CONFIG_PATH): ConfigError => thrown(() => parseConfig(text, { path, env }), ConfigError);

const FAKTUROWNIA = `
sources:
  - name: f
    preset: fakturownia
    domain: acme
    api_token: SECRET-abc123
`;

function onlySource<T>(config: Config): T {
  expect(config.sources).toHaveLength(1);
  return config.sources[0] as T;
}

describe("config.example.yaml", () => {
  it("loads with its variables defined", () => {
    const config = loadConfig(EXAMPLE, EXAMPLE_ENV);
    expect(config.path).toBe(EXAMPLE);
    expect(config.sources.map((source) => source.name)).toEqual(["fakturownia", "legacy"]);
    expect(config.targets.map((target) => target.name)).toEqual(["erp"]);
    expect(config.server).toEqual({ listen: "127.0.0.1:8080" });
    expect(config.state.url).toBe(`sqlite://${resolve(import.meta.dirname, "../../data/retrohook.sqlite")}`);
    const fakturownia = config.sources[0] as FakturowniaSourceConfig;
    expect(fakturownia.api_token).toBe("SECRET-abc123");
    expect(fakturownia.resources.map((resource) => resource.name)).toEqual(["invoices", "cost_invoices", "warehouse_documents", "payments"]);
    expect(fakturownia.resources[1]!.transitions).toEqual([{ event: "approved", field: "accounting_status", to: "approved" }]);
    const legacy = config.sources[1]!;
    expect(isRestSource(legacy)).toBe(true);
    expect((legacy as RestSourceConfig).headers).toEqual({ Authorization: "Bearer SECRET-legacy-789" });
    expect(config.targets[0]!.retry.max_age).toBe(72 * 3_600_000);
  });

  it("starts with the yaml-language-server schema line", () => {
    expect(readFileSync(EXAMPLE, "utf8").split("\n")[0]).toBe("# yaml-language-server: $schema=./retrohook.schema.json");
  });

  it("names every variable it needs when none are set", () => {
    const error = thrown(() => loadConfig(EXAMPLE, {}), ConfigError);
    expect(error.message.startsWith(EXAMPLE)).toBe(true);
    for (const name of Object.keys(EXAMPLE_ENV)) expect(error.message).toContain(name);
  });
});

describe("defaults", () => {
  it("fills every source, resource, server, state and target default", () => {
    const config = parse(`${FAKTUROWNIA}\ntargets:\n  - { name: erp, url: "https://erp.example/hooks" }\n`);
    const source = onlySource<FakturowniaSourceConfig>(config);
    expect(source).toMatchObject({
      schedule: "*/1 * * * *",
      reconcile: "0 */6 * * *",
      timezone: "UTC",
      overlap: 300_000,
      start: { mode: "baseline" },
      max_response_bytes: 8_388_608,
      timeout: 30_000,
      max_retry_after: 86_400_000,
    });
    expect(source.budget).toBeUndefined();
    expect(source.resources.map((resource) => resource.name)).toEqual([
      "invoices",
      "cost_invoices",
      "warehouse_documents",
      "payments",
      "clients",
      "products",
    ]);
    for (const resource of source.resources) {
      expect(resource).toEqual({
        name: resource.name,
        ignore_fields: [],
        transitions: [],
        max_delete_ratio: 0.2,
        max_delete_min: 10,
        start: { mode: "baseline" },
      });
    }
    expect(config.server).toEqual({ listen: "127.0.0.1:8080" });
    expect(config.state.url).toBe("sqlite:///srv/retrohook/data/retrohook.sqlite");
    expect(config.targets[0]).toEqual({
      name: "erp",
      url: "https://erp.example/hooks",
      format: "standard",
      timeout: 10_000,
      headers: {},
      retry: { max_age: 259_200_000, max_retry_after: 86_400_000 },
      concurrency: 4,
    });
  });

  it("targets may be absent or empty", () => {
    expect(parse(FAKTUROWNIA).targets).toEqual([]);
    expect(parse(`${FAKTUROWNIA}targets:\n`).targets).toEqual([]);
    expect(parse(`${FAKTUROWNIA}targets: []\n`).targets).toEqual([]);
  });

  it("wfirma defaults to Europe/Warsaw and all six resources; oauth_token alone is enough", () => {
    const source = onlySource<WfirmaSourceConfig>(parse("sources:\n  - { name: w, preset: wfirma, oauth_token: SECRET-abc123, company_id: 42 }\n"));
    expect(source.timezone).toBe("Europe/Warsaw");
    expect(source.company_id).toBe("42");
    expect(source.resources).toHaveLength(6);
  });

  it("fakturoid supports five resources; facturascripts needs base_url", () => {
    const config = parse(`
sources:
  - { name: fo, preset: fakturoid, account: acme, client_id: SECRET-abc123, client_secret: SECRET-abc123, user_agent: "Acme Sync (it@acme.cz)" }
  - { name: fs, preset: facturascripts, base_url: "https://erp.example/", token: SECRET-abc123 }
`);
    expect(config.sources[0]!.resources.map((resource) => resource.name)).toEqual(["invoices", "cost_invoices", "clients", "products", "warehouse_documents"]);
    expect(config.sources[1]!.resources).toHaveLength(6);
  });

  it("a resource's own start wins over the source's", () => {
    const source = onlySource<FakturowniaSourceConfig>(
      parse(`${FAKTUROWNIA}    start: backfill\n    resources: [invoices, { name: payments, start: { since: "2026-01-31" } }]\n`),
    );
    expect(source.start).toEqual({ mode: "backfill" });
    expect(source.resources.map((resource) => resource.start)).toEqual([{ mode: "backfill" }, { mode: "since", since: "2026-01-31" }]);
  });

  it("generic resources get id, pagination and cursor defaults", () => {
    const source = onlySource<RestSourceConfig>(
      parse(`
sources:
  - name: legacy
    type: rest
    base_url: https://legacy.example/api
    resources:
      - { name: a, path: /a }
      - { name: b, path: /b, pagination: { style: page }, cursor: { field: updated_at, order: desc } }
      - { name: c, path: /c, pagination: { style: offset }, cursor: { field: id, param: "filter[id_gt]", type: id } }
      - { name: d, path: /d, pagination: { style: next, next: links.next }, query: { per_page: 50, active: true } }
`),
    );
    const [a, b, c, d] = source.resources;
    expect(a).toMatchObject({ id: "id", pagination: { style: "none" }, query: {} });
    expect(a!.cursor).toBeUndefined();
    expect(b!.pagination).toEqual({ style: "page", page_param: "page", size: 100, first_page: 1 });
    expect(b!.cursor).toEqual({ field: "updated_at", order: "desc", type: "time", format: "iso" });
    expect(c!.pagination).toEqual({ style: "offset", offset_param: "offset", limit_param: "limit", size: 100 });
    expect(c!.cursor).toEqual({ field: "id", param: "filter[id_gt]", type: "id", format: "iso" });
    expect(d!.pagination).toEqual({ style: "next", next: "links.next" });
    expect(d!.query).toEqual({ per_page: "50", active: "true" });
    expect(source.headers).toEqual({});
  });

  it("format fakturownia targets get locale pl", () => {
    const config = parse(`${FAKTUROWNIA}targets:\n  - { name: t, url: "http://127.0.0.1:9/x", format: fakturownia, api_token: SECRET-abc123 }\n`);
    expect(config.targets[0]).toMatchObject({ format: "fakturownia", locale: "pl", api_token: "SECRET-abc123" });
  });
});

describe("units", () => {
  it("reads durations and byte sizes", () => {
    const source = onlySource<FakturowniaSourceConfig>(
      parse(`${FAKTUROWNIA}    overlap: 1h30m\n    timeout: 500ms\n    max_response_bytes: 512KB\n`),
    );
    expect(source.overlap).toBe(5_400_000);
    expect(source.timeout).toBe(500);
    expect(source.max_response_bytes).toBe(524_288);
    const zero = onlySource<FakturowniaSourceConfig>(parse(`${FAKTUROWNIA}    overlap: 0\n    max_response_bytes: 1000\n`));
    expect(zero.overlap).toBe(0);
    expect(zero.max_response_bytes).toBe(1000);
    const target = parse(`${FAKTUROWNIA}targets: [{ name: t, url: "https://x.example", retry: { max_age: 1d }, timeout: 2s }]\n`).targets[0]!;
    expect(target.retry.max_age).toBe(86_400_000);
    expect(target.timeout).toBe(2000);
  });

  it("accepts budgets, since dates and transitions of every form", () => {
    const source = onlySource<FakturowniaSourceConfig>(
      parse(`${FAKTUROWNIA}    budget: { requests: 1500, per: month }
    start: { since: "2026-01-31T08:00:00+01:00" }
    resources:
      - name: invoices
        transitions:
          - { event: approved, field: status, to: approved }
          - { event: reopened, field: status, from: paid, to: issued }
          - { event: renumbered, field: number, changed: true }
          - { event: cleared, field: note, to: null }
`),
    );
    expect(source.budget).toEqual({ requests: 1500, per: "month" });
    expect(source.start).toEqual({ mode: "since", since: "2026-01-31T08:00:00+01:00" });
    expect(source.resources[0]!.transitions).toEqual([
      { event: "approved", field: "status", to: "approved" },
      { event: "reopened", field: "status", from: "paid", to: "issued" },
      { event: "renumbered", field: "number", changed: true },
      { event: "cleared", field: "note", to: null },
    ]);
  });
});

describe("interpolation", () => {
  it("substitutes inside strings, uses defaults, and keeps $${ literal", () => {
    const config = parse(
      `
sources:
  - name: legacy
    type: rest
    base_url: "\${API_URL:-https://legacy.example}/api"
    headers: { Authorization: "Bearer \${TOKEN}", X-Literal: "$\${NOT_A_VAR} and $5" }
    resources: [{ name: a, path: /a }]
`,
      { TOKEN: "SECRET-abc123" },
    );
    const source = onlySource<RestSourceConfig>(config);
    expect(source.base_url).toBe("https://legacy.example/api");
    expect(source.headers).toEqual({ Authorization: "Bearer SECRET-abc123", "X-Literal": "${NOT_A_VAR} and $5" });
  });

  it("an empty variable takes the :- default; without :- it stays empty", () => {
    const config = parse(`${FAKTUROWNIA.replace("domain: acme", 'domain: "${DOMAIN:-acme}"')}server: { admin_token: "\${ADMIN}" }\n`, { DOMAIN: "", ADMIN: "" });
    expect(onlySource<FakturowniaSourceConfig>(config).domain).toBe("acme");
    expect(config.server.admin_token).toBeUndefined();
  });

  it("a value that is exactly ${VAR} becomes the number or boolean the schema wants", () => {
    const config = parse(
      `${FAKTUROWNIA}    budget: { requests: "\${BUDGET}", per: day }
    resources:
      - { name: invoices, max_delete_min: "\${MIN:-25}", max_delete_ratio: "\${RATIO}", transitions: [{ event: moved, field: place, changed: "\${YES}" }] }
targets:
  - name: t
    url: "https://x.example"
    concurrency: \${CONCURRENCY}
`,
      { BUDGET: "100", RATIO: "0.5", YES: "true", CONCURRENCY: "8" },
    );
    const source = onlySource<FakturowniaSourceConfig>(config);
    expect(source.budget).toEqual({ requests: 100, per: "day" });
    expect(source.resources[0]).toMatchObject({ max_delete_min: 25, max_delete_ratio: 0.5 });
    expect(source.resources[0]!.transitions).toEqual([{ event: "moved", field: "place", changed: true }]);
    expect(config.targets[0]!.concurrency).toBe(8);
  });

  it("literal text where a number belongs stays an error (only ${VAR} is converted)", () => {
    const error = parseError(`${FAKTUROWNIA}    resources: [{ name: invoices, max_delete_min: "10" }]\n`);
    expect(error.issues).toEqual([expect.stringContaining("sources[0].resources[0].max_delete_min: expected a number, got text")]);
  });

  it("a variable can never add YAML structure", () => {
    const source = onlySource<FakturowniaSourceConfig>(parse(FAKTUROWNIA.replace("SECRET-abc123", "${TOKEN}"), { TOKEN: "x\nschedule: bad\n- y: [z" }));
    expect(source.api_token).toBe("x\nschedule: bad\n- y: [z");
    expect(source.schedule).toBe("*/1 * * * *");
  });

  it("a missing variable names the path and the variable, never other values", () => {
    const error = parseError(FAKTUROWNIA.replace("SECRET-abc123", "${FAKTUROWNIA_TOKEN}"), { OTHER: "SECRET-env-456" });
    expect(error.issues).toEqual([expect.stringMatching(/^sources\[0\]\.api_token: environment variable FAKTUROWNIA_TOKEN is not set/)]);
    expect(error.message).not.toContain("SECRET");
  });
});

describe("K_file secrets", () => {
  it("reads secrets relative to the config's folder, without the trailing newline", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "secrets"));
    writeFileSync(join(dir, "secrets", "token"), "SECRET-abc123\n");
    writeFileSync(join(dir, "secrets", "whsec"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\r\n");
    writeFileSync(join(dir, "secrets", "admin"), "SECRET-admin\n");
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const path = join(dir, "config.yaml");
    writeFileSync(
      path,
      `
server: { admin_token_file: secrets/admin }
sources:
  - { name: f, preset: fakturownia, domain: acme, api_token_file: secrets/token }
  - { name: w, preset: wfirma, oauth_token_file: "\${CREDENTIALS_DIRECTORY}/token" }
targets:
  - { name: t, url: "https://x.example", secret_file: ./secrets/whsec, tls: { ca_file: ca.pem } }
`,
    );
    const config = loadConfig(path, { CREDENTIALS_DIRECTORY: join(dir, "secrets") });
    expect((config.sources[0] as FakturowniaSourceConfig).api_token).toBe("SECRET-abc123");
    expect((config.sources[1] as WfirmaSourceConfig).oauth_token).toBe("SECRET-abc123");
    expect(config.server.admin_token).toBe("SECRET-admin");
    expect(config.targets[0]!.secret).toBe("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    expect(config.targets[0]!.tls?.ca).toContain("-----BEGIN CERTIFICATE-----");
    expect(Object.keys(config.sources[0]!).some((key) => key.endsWith("_file"))).toBe(false);
    expect(Object.keys(config.targets[0]!).some((key) => key.endsWith("_file"))).toBe(false);
  });

  it("both K and K_file is an error naming both paths", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "token"), "SECRET-file-999\n");
    const error = parseError(FAKTUROWNIA.replace("api_token: SECRET-abc123", "api_token: SECRET-abc123\n    api_token_file: token"), {}, join(dir, "c.yaml"));
    expect(error.issues).toEqual([expect.stringContaining("give exactly one of sources[0].api_token or sources[0].api_token_file")]);
    expect(error.message).not.toContain("SECRET");
  });

  it("an unreadable file names the key and the absolute path", () => {
    const dir = tempDir();
    const error = parseError(FAKTUROWNIA.replace("api_token: SECRET-abc123", "api_token_file: missing/token"), {}, join(dir, "c.yaml"));
    expect(error.issues).toEqual([expect.stringContaining(`sources[0].api_token_file: cannot read ${join(dir, "missing/token")} (ENOENT)`)]);
  });

  it("neither K nor K_file says both ways", () => {
    const error = parseError("sources:\n  - { name: f, preset: fakturownia, domain: acme }\n");
    expect(error.issues).toEqual([expect.stringContaining("sources[0].api_token: required (or api_token_file)")]);
  });
});

describe("state path", () => {
  it("resolves a relative sqlite path against the config file's folder", () => {
    const config = parseConfig(`state: { url: "sqlite://state/x.sqlite" }\n${FAKTUROWNIA}`, { path: "/etc/retrohook/config.yaml", env: {} });
    expect(config.state.url).toBe("sqlite:///etc/retrohook/state/x.sqlite");
  });

  it("keeps absolute paths and memory", () => {
    expect(parse(`state: { url: "sqlite:///var/lib/retrohook/s.sqlite" }\n${FAKTUROWNIA}`).state.url).toBe("sqlite:///var/lib/retrohook/s.sqlite");
    expect(parse(`state: { url: "sqlite::memory:" }\n${FAKTUROWNIA}`).state.url).toBe("sqlite::memory:");
  });

  it("resolves a relative config path against the working directory", () => {
    const config = parseConfig(FAKTUROWNIA, { path: "conf/c.yaml", env: {} });
    expect(config.path).toBe(resolve("conf/c.yaml"));
    expect(config.state.url).toBe(`sqlite://${resolve("conf/data/retrohook.sqlite")}`);
  });
});

describe("YAML features", () => {
  it("applies << merge keys, with anchors kept under x- keys", () => {
    const config = parse(`
x-common: &common
  schedule: "*/5 * * * *"
  timezone: Europe/Prague
  budget: { requests: 1500, per: month }
sources:
  - <<: *common
    name: a
    preset: fakturoid
    account: acme
    client_id: SECRET-abc123
    client_secret: SECRET-abc123
    user_agent: "Acme (it@acme.cz)"
  - <<: *common
    name: b
    preset: fakturownia
    domain: acme
    api_token: SECRET-abc123
    schedule: "*/2 * * * *"
`);
    expect(config.sources.map((source) => [source.name, source.schedule, source.timezone])).toEqual([
      ["a", "*/5 * * * *", "Europe/Prague"],
      ["b", "*/2 * * * *", "Europe/Prague"],
    ]);
  });
});

describe("errors", () => {
  it("message starts with the file path and lists every issue", () => {
    const error = parseError("sources:\n  - { name: a, preset: fakturownia, domain: acme, api_token: SECRET-abc123, schedul: x, timeout: 5 }\n");
    expect(error.message.startsWith(`${CONFIG_PATH}: 2 problems:`)).toBe(true);
    expect(error.issues).toHaveLength(2);
    for (const issue of error.issues) expect(error.message).toContain(issue);
    expect(error.issues[0]).toMatch(/\(line 2, column \d+\)$/);
  });

  it("loadConfig names a missing file", () => {
    const path = join(tempDir(), "nope.yaml");
    expect(() => loadConfig(path, {})).toThrow(new ConfigError(`${path}: cannot read the config file (ENOENT)`));
  });
});

describe("findConfigPath", () => {
  it("prefers -c, then RETROHOOK_CONFIG, then ./config.yaml", () => {
    expect(findConfigPath("my.yaml", { RETROHOOK_CONFIG: "/etc/r.yaml" })).toEqual({ path: resolve("my.yaml"), looked: [resolve("my.yaml")] });
    expect(findConfigPath(undefined, { RETROHOOK_CONFIG: "/etc/r.yaml" })).toEqual({ path: "/etc/r.yaml", looked: ["/etc/r.yaml"] });
    expect(findConfigPath(undefined, {})).toEqual({ path: resolve("config.yaml"), looked: [resolve("config.yaml")] });
    expect(findConfigPath(undefined, { RETROHOOK_CONFIG: "" }).path).toBe(resolve("config.yaml"));
  });
});
