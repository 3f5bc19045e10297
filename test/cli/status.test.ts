import { describe, expect, it } from "vitest";
import { freePort } from "../helpers/ports.js";
import { runCli, startCli, waitFor } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import type { FakeRest } from "../helpers/fake-rest.js";
import type { Receiver } from "../helpers/receiver.js";
import type { StatusView } from "../../src/server/read-model.js";
import { vendorAndReceiverPerTest } from "../helpers/vendor-and-receiver.js";

const ADMIN_TOKEN = "cli-admin-token-2468";

let api: FakeRest;
let erp: Receiver;
vendorAndReceiverPerTest({ receiver: { status: 400, body: "rejected" } }, (started) => ({ api, receiver: erp } = started));

/**
 * State with something in every column: 12 items, 11 of them then missing at once (held), one
 * updated (a dead letter at erp, a pending delivery at an unreachable target), and a source
 * whose token is wrong (suspended).
 */
async function prepareState(listen: string): Promise<string> {
  for (let i = 0; i < 12; i += 1) api.create();
  const unreachable = await freePort();
  const { path } = writeConfig({
    server: { listen, admin_token: ADMIN_TOKEN },
    sources: [restSourceYaml(api.url, api.token, { schedule: "0 0 1 1 *", reconcile: "0 0 1 1 *" }), restSourceYaml(api.url, "wrong-token", { name: "locked" })],
    targets: [
      { name: "erp", url: erp.url },
      { name: "down", url: `http://127.0.0.1:${unreachable}/hooks`, events: ["item.updated"] },
    ],
  });
  await runCli(["once", "-c", path]);
  api.update(12, { status: "sent" });
  for (let id = 1; id <= 11; id += 1) api.remove(id);
  const reconcile = await runCli(["once", "--reconcile", "-c", path]);
  expect(reconcile.stderr).toMatch(/11 deletions held/);
  return path;
}

describe("retrohook status", () => {
  it("prints sources, resources and targets as a table and as JSON, from the state file without a daemon", async () => {
    const path = await prepareState("127.0.0.1:0");
    const table = await runCli(["status", "-c", path]);
    expect(table.code).toBe(0);
    const out = table.stdout;
    expect(out).toMatch(/^SOURCE \/ RESOURCE\s+STATUS\s+CURSOR\s+LAST PASS\s+RECORDS\s+SUSPENDED\s+HELD DELETIONS/m);
    const items = out.split("\n").find((line) => line.startsWith("  items") && /held/.test(line))!;
    expect(items).toMatch(/^ {2}items\s+held\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+12\s+-\s+11 since \d{4}-/);
    expect(out).toMatch(/^locked\s+suspended\s+never\s+since \d{4}-.*HTTP 401/m);
    expect(out).toMatch(/^TARGET\s+STATUS\s+OUTBOX\s+OLDEST PENDING\s+DEAD LETTERS\s+PAUSED\s+BREAKER\s+LAST ATTEMPT/m);
    expect(out).toMatch(/^erp\s+failing\s+0\s+-\s+1\s+-\s+-\s+dead HTTP 400 at/m);
    expect(out).toMatch(/^down\s+failing\s+1\s+\d+ s\s+0\s+-\s+-\s+retry at .*connection/m);
    expect(out).toMatch(/retrohook reset --source legacy --resource items --accept-deletes/);
    expect(out).toMatch(/read from the state file/);

    const json = await runCli(["status", "--json", "-c", path]);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as StatusView;
    expect(view.daemon).toBe(false);
    const legacy = view.sources.find((s) => s.name === "legacy")!;
    expect(legacy.resources[0]).toMatchObject({ name: "items", records: 12, heldDeletions: { count: 11 }, suspended: null, initialized: true });
    expect(typeof legacy.resources[0]!.cursor).toBe("number");
    expect(legacy.resources[0]!.lastPassAt).toMatch(/Z$/);
    expect(view.sources.find((s) => s.name === "locked")).toMatchObject({ health: "suspended", suspended: { reason: expect.stringMatching(/401/) } });
    expect(view.targets.find((t) => t.name === "erp")).toMatchObject({ pending: 0, deadLetters: 1, health: "failing" });
    expect(view.targets.find((t) => t.name === "down")).toMatchObject({ pending: 1, deadLetters: 0, oldestPending: { detectedAt: expect.any(String) } });
  });

  it("asks the running daemon's admin API, and replay and reset act through it", async () => {
    const port = await freePort();
    const path = await prepareState(`127.0.0.1:${port}`);
    const daemon = startCli(["run", "-c", path], { RETROHOOK_LOG_LEVEL: "info" });
    try {
      await waitFor(() => /server listening on http:\/\/127\.0\.0\.1:\d+/.test(daemon.stderr()), 20_000, "the server");
      const view = JSON.parse((await runCli(["status", "--json", "-c", path])).stdout) as StatusView;
      expect(view.daemon).toBe(true);
      expect(view.sources.find((s) => s.name === "legacy")!.nextPass).toMatchObject({ incremental: expect.stringMatching(/Z$/) });
      expect(view.targets.find((t) => t.name === "erp")).toMatchObject({ deadLetters: 1, breaker: { status: "closed" } });
      const table = await runCli(["status", "-c", path]);
      expect(table.stdout).not.toMatch(/read from the state file/);
      expect(table.stdout).toMatch(/^ {2}items\s+held/m);
      // The breaker lives in the daemon: shown while it runs (`-` from the state file).
      expect(table.stdout).toMatch(/^erp\s+failing\s.*\sclosed(?: \(\d+ failures?\))?\s+dead HTTP 400/m);

      erp.reply({ status: 200 });
      const before = erp.requests.length;
      const replay = await runCli(["replay", "--dead-letters", "--target", "erp", "-c", path]);
      expect(replay.stdout).toMatch(/1 delivery queued for erp; the daemon delivers them now/);
      expect(replay.code).toBe(0);
      await erp.waitFor(before + 1, 10_000);
      expect(JSON.parse(erp.requests[before]!.body)).toMatchObject({ type: "item.updated", record_id: "12" });

      const reset = await runCli(["reset", "--source", "legacy", "--resource", "items", "--accept-deletes", "-c", path]);
      expect(reset.code).toBe(0);
      expect(reset.stdout).toMatch(/released 11 held deletions of legacy\/items; the daemon delivers them now/);
      await erp.waitFor(before + 12, 10_000);
      expect(erp.bodies<{ type: string }>().slice(before + 1).every((b) => b.type === "item.deleted")).toBe(true);
      expect(daemon.stderr()).toMatch(/"action":"accept-deletes"/);
    } finally {
      daemon.child.kill("SIGTERM");
    }
    expect((await daemon.done).code).toBe(0);
    // Seven CLI processes one after another and a daemon: more than the default 30 s on a loaded machine.
  }, 90_000);
});
