import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { parseConfig } from "../../src/config/load.js";
import { didYouMean } from "../../src/core/did-you-mean.js";
import { ConfigError } from "../../src/errors.js";
import { runCli } from "../helpers/cli.js";
import { writeConfig } from "../helpers/config-file.js";
import { startReceiver } from "../helpers/receiver.js";
import { thrown } from "../helpers/thrown.js";

/** Messages a newcomer meets in the first hour: each names what is wrong and the fix. */

const configMessage = (text: string, env: NodeJS.ProcessEnv = {}): string => thrown(() => parseConfig(text, { path: "/srv/retrohook/config.yaml", env }), ConfigError).message;

describe("did you mean", () => {
  it("counts a swap of two adjacent letters as one typo", () => {
    expect(didYouMean("piad", ["id", "paid"])).toBe("paid");
    expect(didYouMean("piad", ["paid", "id"])).toBe("paid");
    expect(didYouMean("statsu", ["status", "start"])).toBe("status");
    expect(didYouMean("banana", ["status", "start"])).toBeUndefined();
  });

  it("suggests the command for an unknown CLI command", async () => {
    let err = "";
    const code = await main(["statu"], { out: () => {}, err: (text) => (err += text), env: {} });
    expect(code).toBe(2);
    expect(err).toMatch(/^retrohook: unknown command "statu"; did you mean "retrohook status"\?/);
    err = "";
    await main(["relpay"], { out: () => {}, err: (text) => (err += text), env: {} });
    expect(err).toMatch(/did you mean "retrohook replay"\?/);
    err = "";
    await main(["frobnicate"], { out: () => {}, err: (text) => (err += text), env: {} });
    expect(err).not.toMatch(/did you mean/);
  });
});

describe("config messages", () => {
  it("a resource key at source level says to indent it under resources[]", () => {
    const message = configMessage(`
sources:
  - name: legacy
    type: rest
    base_url: https://legacy.example/api
    path: /costs
    cursor: { field: modified_at, param: modified_since }
    resources:
      - name: costs
        path: /costs
targets: []
`);
    expect(message).toContain('sources[0].path: "path" is a resource key, not a source key: indent it under resources[]');
    expect(message).toContain('sources[0].cursor: "cursor" is a resource key, not a source key: indent it under resources[]');
    const preset = configMessage(`
sources:
  - name: f
    preset: fakturownia
    domain: acme
    api_token: SECRET-abc123
    ignore_fields: [updated_at]
targets: []
`);
    expect(preset).toMatch(/sources\[0\]\.ignore_fields: "ignore_fields" is a resource key, not a source key: indent it under resources\[\]/);
  });

  it("a missing secret's variable gets no default suggestion; a plain value's does", () => {
    const message = configMessage(`
sources:
  - name: f
    preset: fakturownia
    domain: \${FAKTUROWNIA_DOMAIN}
    api_token: \${FAKTUROWNIA_API_TOKEN}
  - name: legacy
    type: rest
    base_url: https://legacy.example/api
    headers: { Authorization: "Bearer \${LEGACY_TOKEN}" }
    resources: [{ name: costs, path: /costs }]
targets:
  - { name: erp, url: "https://erp.example/hooks", secret: "\${ERP_SECRET}" }
`);
    for (const line of [
      "sources[0].api_token: environment variable FAKTUROWNIA_API_TOKEN is not set; export it, or give api_token_file (a file holding the secret) instead of api_token",
      "sources[1].headers.Authorization: environment variable LEGACY_TOKEN is not set; export it (it holds a secret: no default)",
      "targets[0].secret: environment variable ERP_SECRET is not set; export it, or give secret_file",
      "sources[0].domain: environment variable FAKTUROWNIA_DOMAIN is not set (use ${FAKTUROWNIA_DOMAIN:-default} for a default)",
    ])
      expect(message).toContain(line);
    for (const secretVariable of ["FAKTUROWNIA_API_TOKEN", "LEGACY_TOKEN", "ERP_SECRET"]) expect(message).not.toContain(`\${${secretVariable}:-`);
  });

  it("the YAML error header counts every problem, the summed-up ones included", () => {
    const message = configMessage("sources:\n  - name: a\n   bad: [\n  - name: b\n\tx: 1\n  other: {\n");
    const header = /: (\d+) problems:\n/.exec(message);
    const more = /(\d+) more YAML errors? after it/.exec(message);
    expect(header && more).toBeTruthy();
    expect(Number(header![1])).toBe(1 + Number(more![1]));
    expect(Number(more![1])).toBeGreaterThan(1);
  });
});

describe("a list body that is an object", () => {
  it("suggests records: <key>, naming the keys that hold arrays", async () => {
    const vendor = await startReceiver();
    try {
      vendor.reply({ status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ meta: { page: 1, links: [] }, data: [{ id: 1 }], total: 1 }) });
      const { path } = writeConfig({ sources: [{ name: "legacy", type: "rest", base_url: vendor.url, resources: [{ name: "costs", path: "/costs" }] }], targets: [] });
      const result = await runCli(["once", "--dry-run", "-c", path]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('(/hooks/costs): expected an array of records, got an object — the body is an object; set the resource\'s `records: data` to the key that holds the records (keys holding arrays: "data", "meta.links")');
    } finally {
      await vendor.close();
    }
  });
});
