import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { startFakeRest } from "../helpers/fake-rest.js";
import { restSource, stateFile, writeConfig } from "../chaos/lib/config.js";
import { inProcessRunner } from "../chaos/lib/once.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { SECRETS } from "../chaos/lib/secrets.js";

/**
 * Found by `npm run chaos` (secrets sweep, "again after every secret was rotated"): error
 * messages are stored in state as they are — a vendor error quoting the token lands in the
 * resource's `lastError` (and a receiver's echo in dead letters and the delivery log). Outputs
 * scrub only the secrets of the *current* config, so once the credentials are rotated,
 * `retrohook status` (and the admin API and UI while the state still holds the message) print
 * the old token — often still valid somewhere. The state file itself carries it at rest.
 * Fixed: messages are scrubbed before they are persisted — src/pipeline/poll-pass.ts, failPass:
 * the message (lastError, suspension reasons) and backoffReason go through `scrub()`;
 * src/delivery/dispatcher.ts: a delivery's `lastError`, the dead letter's `reason` and
 * `response.body`, and the log entry's `error`; src/sources/http/client.ts, describeBody:
 * `scrub()` instead of `scrubUrl()`, before the body is clipped. This test keeps it fixed.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("an error quoting the token, after the token was rotated", () => {
  it("is not shown by status, and not kept in the state file", async () => {
    const old = SECRETS.restToken;
    const api = await startFakeRest({ token: old });
    try {
      api.seed(3);
      const dir = scratch.dir("rotation");
      const config = (token: string): string => writeConfig(dir, { sources: [{ ...restSource(api.url), headers: { Authorization: `Bearer ${token}` } }], targets: [] });
      expect((await inProcessRunner(["once", "-c", config(old)])).code).toBe(0);
      api.injectFault({ fault: { type: "status", status: 500, body: { error: `token ${old} is not allowed to list items` } }, times: 10 });
      expect((await inProcessRunner(["once", "-c", config(old)])).code).toBe(1);

      const rotated = config("ROTATEDtok3nAfterTheLeak");
      const status = await inProcessRunner(["status", "--json", "-c", rotated]);
      expect(status.stdout).toMatch(/HTTP 500/);
      expect(status.stdout).not.toContain(old);
      expect(readFileSync(stateFile(dir)).includes(old)).toBe(false);
    } finally {
      await api.close();
    }
  }, 30_000);
});
