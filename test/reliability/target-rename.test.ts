import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import { inProcessRunner } from "../chaos/lib/once.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { closingAfterEach } from "../helpers/closing.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { startReceiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp.js";

/**
 * Issue #27, item 3. 100 deliveries pending for target `erp`; the target is renamed `erp-prod`;
 * the next start logged "dropped 100 pending deliveries" and they were gone — a silently
 * dropped delivery. Now they move to dead letters ("target erp removed from config"),
 * `validate` warns before that happens, and `replay --dead-letters --target erp --to erp-prod`
 * delivers them, ids kept. Failed on ee9fb53 (no dead letters after the rename: lost 100).
 */
const closeLater = closingAfterEach();

describe("renaming a target with deliveries pending", () => {
  it("moves them to dead letters, warns in validate first, and replays them to the new name", async () => {
    const api = closeLater(await startFakeRest());
    api.seed(100);
    const receiver = closeLater(await startReceiver({ status: 503, body: "down" }));
    const dir = tempDir();
    const source = restSourceYaml(api.url, api.token, { start: "backfill" });
    const config = (targetName: string) => writeConfig({ sources: [source], targets: [{ name: targetName, url: receiver.url, timeout: "2s" }] }, dir).path;
    const stateUrl = `sqlite://${join(dir, "data", "state.sqlite")}`;

    expect((await inProcessRunner(["once", "-c", config("erp")])).code).toBe(0);
    const before = await openStateStore(stateUrl, { readOnly: true });
    const pendingIds = (await before.listPending("erp")).map((d) => d.eventId).sort();
    await before.close();
    expect(pendingIds).toHaveLength(100);

    const renamed = config("erp-prod");
    const validate = await inProcessRunner(["validate", "-c", renamed]);
    expect(validate.code).toBe(0);
    expect(validate.stdout + validate.stderr).toMatch(/warning: 100 pending deliveries of target "erp", which is no longer configured, will move to dead letters/);
    expect(validate.stdout + validate.stderr).toMatch(/replay --dead-letters --target erp --to erp-prod/);

    receiver.reply({ status: 200, body: "ok" });
    const moved = await inProcessRunner(["once", "-c", renamed]);
    expect(moved.code, moved.stderr).toBe(1);
    expect(moved.stderr).toMatch(/100 pending deliveries of target "erp", which is no longer configured, moved to dead letters/);
    const after = await openStateStore(stateUrl, { readOnly: true });
    const dead = await after.listDeadLetters("erp");
    expect(await after.listPending()).toEqual([]);
    await after.close();
    expect(dead.map((d) => d.eventId).sort()).toEqual(pendingIds);
    expect(new Set(dead.map((d) => d.reason))).toEqual(new Set(["target erp removed from config"]));

    const replay = await inProcessRunner(["replay", "--dead-letters", "--target", "erp", "--to", "erp-prod", "-c", renamed]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/100 deliveries queued for erp-prod/);
    const requestsBefore = receiver.requests.length;
    expect((await inProcessRunner(["once", "-c", renamed])).code).toBe(0);
    const delivered = receiver.requests.slice(requestsBefore).map((r) => (JSON.parse(r.body) as { id: string }).id);
    expect(delivered.sort()).toEqual(pendingIds);
    const final = await openStateStore(stateUrl, { readOnly: true });
    expect(await final.listDeadLetters()).toEqual([]);
    await final.close();
  });

  it("replay --to must name a configured target", async () => {
    const dir = tempDir();
    const path = writeConfig({ sources: [restSourceYaml("http://127.0.0.1:9", "tok3nTok3n")], targets: [{ name: "erp-prod", url: "http://127.0.0.1:9/hooks" }] }, dir).path;
    const replay = await inProcessRunner(["replay", "--dead-letters", "--target", "erp", "--to", "nope", "-c", path]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/--to nope: no such target/);
  });
});
