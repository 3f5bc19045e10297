import { afterAll, describe, expect, it } from "vitest";
import { startFakeRest } from "../helpers/fake-rest.js";
import { restSource, writeConfig } from "../chaos/lib/config.js";
import { childRunner } from "../chaos/lib/once.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { SECRETS } from "../chaos/lib/secrets.js";

/**
 * Found by `npm run chaos` (secrets sweep): when a vendor's error body quotes the credentials it
 * refused (`{"error": "token … is not allowed"}`), `retrohook once` prints the pass failure
 * unscrubbed on stderr: "legacy/items incremental: failed: source legacy, resource items: GET
 * /items: HTTP 500: {"error":"token <the token> …". The logger scrubs its own lines, but the
 * command's report goes through `io.err` as it is. Secrets never appear in error messages.
 * Fixed: src/cli/main.ts, main hands every command `scrubbedIo(io)` (src/cli/io.ts), whose `out`
 * and `err` pass the text through `scrub()`; src/cli/io.ts, configFor registers the config's
 * secrets for `scrub()` as soon as the config is loaded, before any command prints. This test
 * keeps it fixed.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("retrohook once and a vendor error quoting the token", () => {
  it("prints the failure without the token", async () => {
    const api = await startFakeRest({ token: SECRETS.restToken });
    try {
      api.seed(3);
      const config = writeConfig(scratch.dir("once-echo"), { sources: [restSource(api.url)], targets: [] });
      expect((await childRunner(["once", "-c", config])).code).toBe(0);
      api.injectFault({ fault: { type: "status", status: 500, body: { error: `token ${SECRETS.restToken} is not allowed to list items` } }, times: 10 });
      const failed = await childRunner(["once", "-c", config]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/HTTP 500/);
      expect(failed.stderr).not.toContain(SECRETS.restToken);
    } finally {
      await api.close();
    }
  }, 30_000);
});
