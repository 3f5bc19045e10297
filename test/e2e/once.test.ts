import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import type { FakeRest } from "../helpers/fake-rest.js";
import { verifySignature, type Receiver } from "../helpers/receiver.js";
import { vendorAndReceiverPerTest } from "../helpers/vendor-and-receiver.js";

let api: FakeRest;
let receiver: Receiver;

vendorAndReceiverPerTest({ api: { token: "SECRET-api-token-4711" } }, (started) => ({ api, receiver } = started));

describe("retrohook once", () => {
  it("--dry-run prints one standard envelope per line with the id a real run uses, and never creates state", async () => {
    api.create();
    const { path, dir } = writeConfig({ sources: [restSourceYaml(api.url, api.token, { start: "backfill" })], targets: [] });
    const dry = await runCli(["once", "--dry-run", "-c", path]);
    expect(dry.code).toBe(0);
    expect(existsSync(join(dir, "data"))).toBe(false);
    const lines = dry.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const envelope = JSON.parse(lines[0]!);
    expect(envelope).toMatchObject({ type: "item.created", source: "legacy", resource: "items", kind: null, record_id: "1" });
    expect(dry.stderr).not.toContain(api.token);

    // With state: the dry run reports what the real run will emit, with the same ids.
    const real = await runCli(["once", "-c", path]);
    expect(real.code).toBe(0);
    api.update(1, { status: "paid" });
    const dry2 = await runCli(["once", "--dry-run", "-c", path]);
    const dryIds = dry2.stdout.trim().split("\n").map((l) => JSON.parse(l).id);
    expect(dry2.stdout.trim().split("\n").map((l) => JSON.parse(l).type)).toEqual(["item.updated", "item.paid"]);
    const { path: withTarget } = writeConfig({ sources: [restSourceYaml(api.url, api.token, { start: "backfill" })], targets: [{ name: "erp", url: receiver.url, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }] }, dir);
    const run = await runCli(["once", "-c", withTarget]);
    expect(run.code).toBe(0);
    expect(receiver.requests.map((r) => JSON.parse(r.body).id)).toEqual(dryIds);
    for (const request of receiver.requests) verifySignature(request, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  });

  it("exits 1 naming the source, resource and cause when a pass fails, and recovers on the next clean pass", async () => {
    api.create();
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token)], targets: [] });
    expect((await runCli(["once", "-c", path])).code).toBe(0);
    api.injectFault({ fault: { type: "html" } });
    const failed = await runCli(["once", "--reconcile", "-c", path]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/source legacy, resource items: GET \/items: expected JSON, got text\/html/);
    expect(failed.stderr).not.toContain(api.token);
    expect((await runCli(["once", "--reconcile", "-c", path])).code).toBe(0);
  });

  it("exits 2 when no config is found, saying where it looked", async () => {
    const result = await runCli(["once", "-c", "/nonexistent/config.yaml"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/looked at: \/nonexistent\/config.yaml/);
  });

  it("with a target down exits 0 and lists pending retries; with a dead letter exits 1", async () => {
    api.create();
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token, { start: "backfill" })], targets: [{ name: "erp", url: receiver.url }] });
    receiver.reply({ status: 503 });
    const down = await runCli(["once", "-c", path]);
    expect(down.code).toBe(0);
    expect(down.stderr).toMatch(/pending: erp evt_[0-9a-f]+ next attempt 20\d\d-/);
    receiver.reply({ status: 400, body: "bad" });
    api.update(1, { name: "x" });
    const dead = await runCli(["once", "-c", path], { RETROHOOK_TEST_CLOCK_OFFSET_MS: String(10 * 60_000) });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/dead-lettered/);
  });
});

describe("retrohook once's delivery summary", () => {
  it("counts as 'to retry' every pending line it prints, including deliveries waiting behind an earlier one", async () => {
    api.create();
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token, { start: "backfill" })], targets: [{ name: "erp", url: receiver.url }] });
    // Retry-After keeps the retry ten minutes away however slowly the second run starts (the
    // first step of the schedule, 5 s, passed between two CLI starts on a loaded machine).
    receiver.reply({ status: 503, headers: { "retry-after": "600" } });
    const first = await runCli(["once", "-c", path]);
    expect(first.stderr).toMatch(/deliveries: 0 delivered, 1 to retry \(1 failed in this run\), 0 dead-lettered/);
    api.update(1, { name: "renamed" });
    // The first delivery is not due yet and the new one waits behind it: nothing is attempted.
    const second = await runCli(["once", "-c", path]);
    const pendingLines = second.stderr.split("\n").filter((line) => line.startsWith("pending: erp "));
    expect(pendingLines).toHaveLength(2);
    expect(second.stderr).toMatch(/deliveries: 0 delivered, 2 to retry, 0 dead-lettered/);
  });
});
