import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import type { FakeRest } from "../helpers/fake-rest.js";
import type { Receiver } from "../helpers/receiver.js";
import { NEVER, startDaemon } from "../server/harness.js";
import { vendorAndReceiverPerTest } from "../helpers/vendor-and-receiver.js";

let api: FakeRest;
let receiver: Receiver;

vendorAndReceiverPerTest({ api: { token: "SECRET-explain-token-77" } }, (started) => ({ api, receiver } = started));

describe("retrohook explain (CLI)", () => {
  it("reads the state file: the record's timeline for people, the same as JSON, and --event", async () => {
    api.create({ status: "issued" });
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token)], targets: [{ name: "erp", url: receiver.url }] });
    expect((await runCli(["once", "-c", path])).code).toBe(0); // baseline
    api.update(1, { status: "paid" });
    expect((await runCli(["once", "-c", path])).code).toBe(0);

    const human = await runCli(["explain", "legacy/items/1", "-c", path]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^legacy\/items\/1 — live, version 2; first seen /);
    expect(human.stdout).toMatch(/event item\.updated evt_[0-9a-f]+\n\s+why: updated: the fingerprint changed \(status/);
    expect(human.stdout).toMatch(/event item\.paid evt_[0-9a-f]+\n\s+why: paid: rule "paid" became true \(status: "issued" → "paid"\)/);
    expect(human.stdout).toMatch(/→ erp: routed\n\s+\S+ attempt 1: delivered HTTP 200/);
    expect(human.stdout).toMatch(/- \[baseline\] no created/);
    expect(human.stdout).not.toContain(api.token);

    const json = await runCli(["explain", "legacy/items/1", "--json", "-c", path]);
    const view = JSON.parse(json.stdout);
    expect(view.record).toMatchObject({ source: "legacy", resource: "items", id: "1", state: "live" });
    expect(view.events.map((e: { type: string }) => e.type)).toEqual(["item.updated", "item.paid"]);
    expect(view.whyNot.map((w: { reason: string }) => w.reason)).toContain("baseline");

    const paidId = view.events[1].id as string;
    const byEvent = await runCli(["explain", "--event", paidId, "-c", path]);
    expect(byEvent.code).toBe(0);
    expect(byEvent.stdout).toContain(`event in focus: ${paidId}`);
    expect(byEvent.stdout).toMatch(new RegExp(`event item\\.paid ${paidId} ◀`));

    const unknown = await runCli(["explain", "--event", "evt_doesnotexist", "-c", path]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no event "evt_doesnotexist" in state: never detected here, or pruned \(state\.retention\.events = 30d; events detected before \S+ are gone\)/);
    const usage = await runCli(["explain", "-c", path]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/give exactly one of SOURCE\/RESOURCE\/RECORD_ID and --event ID/);
    const badSource = await runCli(["explain", "nope/items/1", "-c", path]);
    expect(badSource.code).toBe(1);
    expect(badSource.stderr).toMatch(/no source named "nope" \(configured: legacy\)/);
  }, 180_000);

  it("GET /api/explain answers the same view from the running daemon, by record and by event", async () => {
    api.create({ status: "issued" });
    const daemon = await startDaemon({ sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER })], targets: [{ name: "erp", url: receiver.url }] });
    try {
      api.update(1, { status: "paid" });
      await daemon.pass();
      const byRecord = await daemon.api<{ events: Array<{ id: string; type: string }>; whyNot: Array<{ reason: string }> }>("GET", "/api/explain?source=legacy&resource=items&id=1");
      expect(byRecord.status).toBe(200);
      expect(byRecord.body.events.map((e) => e.type)).toEqual(["item.updated", "item.paid"]);
      expect(byRecord.body.whyNot.map((w) => w.reason)).toContain("baseline");
      const byEvent = await daemon.api<{ focus: string }>("GET", `/api/explain?event=${byRecord.body.events[0]!.id}`);
      expect(byEvent.body.focus).toBe(byRecord.body.events[0]!.id);
      const missing = await daemon.api<{ error: string }>("GET", "/api/explain?source=legacy");
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatch(/missing: resource/);
    } finally {
      await daemon.stop();
    }
  });
});
