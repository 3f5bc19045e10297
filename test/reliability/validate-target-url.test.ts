import { afterAll, describe, expect, it } from "vitest";
import { writeConfig } from "../chaos/lib/config.js";
import { inProcessRunner } from "../chaos/lib/once.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { SECRETS } from "../chaos/lib/secrets.js";

/**
 * Found by `npm run chaos` (secrets sweep): `retrohook validate` prints every target URL as it
 * is, query included, on stdout — `https://hooks.example/in?key=<token>` shows the token (and any
 * registered secret placed in a URL). The admin API shows "origin and path only: a query may
 * hold a token"; stdout is not scrubbed at all. Secrets never appear in any output.
 * Fixed in 93b9bac; this test keeps it fixed.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("retrohook validate", () => {
  it("prints no secret that sits in a target URL's query", async () => {
    const dir = scratch.dir("validate-url");
    const config = writeConfig(dir, {
      sources: [{ name: "f", preset: "fakturownia", domain: "acme", api_token: SECRETS.fakturowniaToken }],
      targets: [{ name: "zap", url: `https://hooks.example/in?key=${SECRETS.targetApiToken}`, format: "fakturownia", api_token: SECRETS.targetApiToken }],
    });
    const result = await inProcessRunner(["validate", "-c", config]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("zap");
    expect(result.stdout).not.toContain(SECRETS.targetApiToken);
  });
});
