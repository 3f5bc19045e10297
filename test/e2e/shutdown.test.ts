import { describe, expect, it } from "vitest";
import { startCli, waitFor } from "../helpers/cli.js";
import { closingAfterEach } from "../helpers/closing.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { startReceiver } from "../helpers/receiver.js";

const closeLater = closingAfterEach();

describe("SIGTERM during busy delivery", () => {
  it("exits 0 within the grace period; the next start delivers the rest", async () => {
    const api = closeLater(await startFakeRest());
    const receiver = closeLater(await startReceiver({ status: 200, delayMs: 300 }));
    for (let i = 0; i < 40; i += 1) api.create();
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token, { start: "backfill" })], targets: [{ name: "slow", url: receiver.url, concurrency: 2 }] });
    const grace = 2000;
    const daemon = startCli(["run", "-c", path], { RETROHOOK_GRACE_MS: String(grace) });
    await receiver.waitFor(4, 20_000);
    const stopAt = Date.now();
    daemon.child.kill("SIGTERM");
    const result = await daemon.done;
    const took = Date.now() - stopAt;
    expect(result.code).toBe(0);
    expect(took).toBeLessThan(grace + 3000); // grace plus process start-up slack, not a performance bound
    const firstRun = new Set(receiver.bodies<{ id: string }>().map((b) => b.id));
    expect(firstRun.size).toBeLessThan(40);

    receiver.reply({ status: 200 });
    const again = startCli(["run", "-c", path]);
    try {
      await waitFor(() => new Set(receiver.bodies<{ id: string }>().map((b) => b.id)).size === 40, 30_000, "all 40 events");
    } finally {
      again.child.kill("SIGTERM");
      await again.done;
    }
    const types = receiver.bodies<{ type: string }>().map((b) => b.type);
    expect(new Set(types)).toEqual(new Set(["item.created"]));
  }, 90_000);
});
