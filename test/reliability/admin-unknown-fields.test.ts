import { afterAll, describe, expect, it } from "vitest";
import { startFakeRest } from "../helpers/fake-rest.js";
import { AdminClient } from "../chaos/lib/admin.js";
import { serverUrl, spawnCli, stopCli, waitUntil } from "../chaos/lib/cli.js";
import { restSource, writeConfig } from "../chaos/lib/config.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { SECRETS } from "../chaos/lib/secrets.js";

/**
 * Found by `npm run chaos` (bad input, admin fuzz): the admin API ignores body fields it does
 * not know, so a misspelt field acts as if it were absent — `{"resouce": "items"}` to
 * /api/sources/S/reset resets every resource of the source (state forgotten, re-baselined),
 * `{"mdoe": "reconcile"}` runs an incremental pass. Bad admin requests must get
 * a clear error naming what is wrong.
 * Fixed in 93b9bac; this test keeps it fixed.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("admin API bodies with misspelt fields", () => {
  it("are refused with 400 naming the field, and change nothing", async () => {
    const api = await startFakeRest({ token: SECRETS.restToken });
    api.seed(5);
    const dir = scratch.dir("unknown-fields");
    const config = writeConfig(dir, { sources: [restSource(api.url)], targets: [] });
    const daemon = spawnCli(["run", "-c", config], { label: "unknown fields daemon" });
    try {
      const admin = new AdminClient(await serverUrl(daemon), SECRETS.adminToken);
      const initialized = async (): Promise<boolean> => (await admin.json<{ resources: Array<{ initialized: boolean }> }>("GET", "/api/sources/legacy")).resources[0]!.initialized;
      await waitUntil(initialized, 30_000, "baseline", 100);
      const reset = await admin.request("POST", "/api/sources/legacy/reset", { body: '{"resouce": "items"}' });
      expect(reset.status).toBe(400);
      expect(reset.text).toMatch(/resouce/);
      expect(await initialized()).toBe(true);
      const pass = await admin.request("POST", "/api/sources/legacy/pass", { body: '{"mdoe": "reconcile"}' });
      expect(pass.status).toBe(400);
      expect(pass.text).toMatch(/mdoe/);
    } finally {
      await stopCli(daemon);
      await api.close();
    }
  }, 60_000);
});
