import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const SECRET = "SECRET-very-distinctive-4711";

/** Malformed configs through the real CLI: exit 2, the path named, no secret echoed. */
const CASES: Array<[string, string, RegExp]> = [
  ["bad YAML", `sources:\n  - name: a\n    api_token: ${SECRET}\n   bad: [`, /line \d+/],
  ["unknown key", `sources:\n  - name: a\n    preset: fakturownia\n    domain: x\n    api_token: ${SECRET}\n    schedul: "* * * * *"\n`, /sources\[0\]\.schedul.*did you mean "schedule"/],
  ["unquoted cron", `sources:\n  - name: a\n    preset: fakturownia\n    domain: x\n    api_token: ${SECRET}\n    schedule: */1 * * * *\n`, /quote cron strings/],
  ["missing variable", `sources:\n  - name: a\n    preset: fakturownia\n    domain: x\n    api_token: \${NOT_SET_ANYWHERE}\n`, /sources\[0\]\.api_token.*NOT_SET_ANYWHERE/],
  ["unknown resource", `sources:\n  - name: a\n    preset: fakturoid\n    account: x\n    client_id: ${SECRET}\n    client_secret: ${SECRET}\n    user_agent: "App (a@b.cz)"\n    resources: [payments]\n`, /sources\[0\]\.resources\[0\]/],
  ["wrong type", `sources:\n  - name: a\n    preset: fakturownia\n    domain: x\n    api_token: ${SECRET}\n    max_response_bytes: [1]\n`, /sources\[0\]\.max_response_bytes/],
];

describe("malformed configs through the CLI", () => {
  for (const [name, text, message] of CASES) {
    it(`${name}: exit 2, path named, no secret`, async () => {
      const path = join(tempDir(), "config.yaml");
      writeFileSync(path, text);
      for (const command of ["validate", "once"]) {
        const result = await runCli([command, "-c", path], { FAKE_SECRET: SECRET });
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(message);
        expect(result.stderr + result.stdout).not.toContain(SECRET);
      }
    });
  }
});
