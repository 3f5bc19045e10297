import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { demoCommand } from "../../src/cli/commands/demo.js";
import { parseConfig } from "../../src/config/load.js";

/** What a newcomer reads in the first hour agrees with what the code does. */
const ROOT = join(import.meta.dirname, "../..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");

describe("the README's first hour", () => {
  it("says when events arrive, with the defaults the loader really applies", () => {
    const config = parseConfig("sources: [{ name: l, type: rest, base_url: 'http://x', resources: [{ name: i, path: /i }] }]\ntargets: []\n", { path: "/x/config.yaml", env: {} });
    expect(config.sources[0]!.schedule).toBe("*/1 * * * *");
    expect(config.sources[0]!.reconcile).toBe("0 */6 * * *");
    expect(readme).toContain("Each source is polled on its `schedule` (default every minute)");
    expect(readme).toContain("Deletions are found only by the reconcile (`reconcile`, default every 6 hours)");
    expect(readme).toContain("On a fresh state this prints nothing: the first pass is the silent baseline");
    for (const sooner of ["`retrohook once --reconcile`", "`start: backfill`", "`POST /api/sources/NAME/pass`"]) expect(readme).toContain(sooner);
  });

  it("says the demo runs until Ctrl-C and how to make it end by itself", () => {
    expect(readme).toContain("The demo runs until Ctrl-C; `npx retrohook demo --for 60s` stops by itself after a minute and prints a summary.");
    expect(Object.keys(demoCommand.options)).toContain("for");
  });

  it("says how long npm test takes and that .ci/run runs more", () => {
    expect(readme).toMatch(/`npm test` runs lint, typecheck and the vitest suite — about \d+ minutes/);
    for (const step of ["npm run bench -- --quick", "npm run chaos -- --reduced", "bash .ci/docker-replay.sh"]) {
      expect(readme).toContain(step);
      expect(ci).toContain(step);
    }
  });
});
