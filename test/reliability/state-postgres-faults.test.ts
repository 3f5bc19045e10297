import { afterEach, describe, expect, it } from "vitest";
import { startCli, waitFor } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { freePort } from "../helpers/ports.js";
import { postgresForFile } from "../helpers/postgres.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

/**
 * `run` on PostgreSQL when the database is down at start or goes away under it: /healthz stays
 * 200 and /readyz says 503 while it waits, passes and deliveries fail loudly while it is gone,
 * and the daemon carries on by itself when it is back — every change delivered, duplicates only
 * under the first webhook-id. Needs the embedded server (it is stopped and started).
 */
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const pgServer = postgresForFile();
let api: FakeRest | undefined;
let receiver: Receiver | undefined;

afterEach(async () => {
  await api?.close();
  await receiver?.close();
  await pgServer().startServer?.().catch(() => undefined);
});

const embedded = process.env.RETROHOOK_TEST_POSTGRES_URL ? describe.skip : describe;

function checkDeliveries(expected: string[]): void {
  const firstId = new Map<string, string>();
  for (const body of receiver!.bodies<{ id: string; type: string; record_id: string }>()) {
    const change = `${body.type}:${body.record_id}`;
    const seen = firstId.get(change);
    if (seen && seen !== body.id) throw new Error(`${change} delivered under two ids: ${seen} and ${body.id}`);
    firstId.set(change, body.id);
  }
  for (const change of expected) expect(firstId.has(change), `${change} delivered`).toBe(true);
}

embedded("run on PostgreSQL: the database goes away", () => {
  it("down at start: waits with a clear line, /healthz 200 and /readyz 503, then starts by itself", async () => {
    api = await startFakeRest();
    receiver = await startReceiver();
    api.create();
    const port = await freePort();
    const url = pgServer().freshUrl();
    const { path } = writeConfig({ state: { url }, server: { listen: `127.0.0.1:${port}` }, sources: [restSourceYaml(api.url, api.token)], targets: [{ name: "erp", url: receiver.url, secret: SECRET }] });
    await pgServer().stopServer!();
    const daemon = startCli(["run", "-c", path], { RETROHOOK_LOG_LEVEL: "info" });
    try {
      await waitFor(() => /state database not reachable, waiting for it/.test(daemon.stderr()), 30_000, "the waiting line");
      expect(daemon.stderr()).not.toContain("retrohook-test"); // the password
      expect(daemon.stderr()).toMatch(/postgres:\/\/[^@\s]*\*\*\*@127\.0\.0\.1/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).not.toContain("retrohook-test");
      await pgServer().startServer!();
      await waitFor(() => receiver!.bodies().length >= 1 || /pass done/.test(daemon.stderr()), 60_000, "the first pass after the database came back");
      api.create({ name: "after" });
      await waitFor(() => receiver!.bodies<{ type: string }>().some((b) => b.type === "item.created"), 30_000, "a delivery");
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.done;
    }
  }, 150_000);

  it("restarted under load: passes fail loudly while it is down, nothing is lost, the daemon recovers by itself", async () => {
    api = await startFakeRest();
    receiver = await startReceiver();
    const { path } = writeConfig({ state: { url: pgServer().freshUrl() }, sources: [restSourceYaml(api.url, api.token, { baseline: undefined })], targets: [{ name: "erp", url: receiver.url, secret: SECRET }] });
    // One record before the first pass: an empty first listing is no baseline, and this test is
    // about the database going away, not about a first pass.
    api.create({ name: "seed" });
    const daemon = startCli(["run", "-c", path], { RETROHOOK_LOG_LEVEL: "info" });
    const expected: string[] = [];
    try {
      await waitFor(() => /pass done/.test(daemon.stderr()), 30_000, "the first pass");
      for (let round = 0; round < 3; round += 1) {
        for (let i = 0; i < 5; i += 1) expected.push(`item.created:${api.create({ name: `r${round}-${i}` }).id}`);
        await pgServer().stopServer!();
        const logged = daemon.stderr().length;
        for (let i = 0; i < 5; i += 1) expected.push(`item.created:${api.create({ name: `r${round}-down-${i}` }).id}`);
        await waitFor(() => /is PostgreSQL running and reachable/.test(daemon.stderr().slice(logged)), 30_000, "a loud failure while the database is down");
        await pgServer().startServer!();
      }
      const received = (): string[] => receiver!.bodies<{ type: string; record_id: string }>().map((b) => `${b.type}:${b.record_id}`);
      await waitFor(() => expected.every((e) => received().includes(e)), 90_000, `every change delivered (missing ${expected.filter((e) => !received().includes(e)).join(", ")})`);
      checkDeliveries(expected);
      expect(daemon.stderr()).not.toContain("retrohook-test");
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.done;
    }
  }, 240_000);
});
