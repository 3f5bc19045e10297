import { afterAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { inProcessRunner } from "../chaos/lib/once.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { SECRETS } from "../chaos/lib/secrets.js";

/**
 * Found by `npm run chaos` (bad input, configs): every config error names the file
 * (`retrohook: /etc/retrohook/config.yaml: sources[0]…`) except the server check of `run`:
 * `server.listen is "0.0.0.0:0", which is reachable from other machines: …` — no file.
 * Fixed in 93b9bac; this test keeps it fixed.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("run with a public listen address and no admin_token", () => {
  it("exits 2 naming the config file and the setting", async () => {
    const dir = scratch.dir("listen");
    const file = join(dir, "config.yaml");
    writeFileSync(file, `server: { listen: "0.0.0.0:0" }\nsources:\n  - { name: f, preset: fakturownia, domain: acme, api_token: ${SECRETS.fakturowniaToken} }\n`);
    const result = await inProcessRunner(["run", "-c", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("server.listen");
    expect(result.stderr).toContain(file);
  });
});
