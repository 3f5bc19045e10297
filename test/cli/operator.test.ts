import { createServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testTargetCommand } from "../../src/cli/commands/test-target.js";
import type { Io } from "../../src/cli/io.js";
import { UsageError } from "../../src/errors.js";
import { openStateStore } from "../../src/store/sqlite-store.js";
import { loadConfig } from "../../src/config/load.js";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { startReceiver, verifySignature, type Receiver } from "../helpers/receiver.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

let api: FakeRest;
let erp: Receiver;
beforeEach(async () => {
  api = await startFakeRest();
  erp = await startReceiver({ status: 422, body: "bad invoice" });
});
afterEach(async () => {
  await api.close();
  await erp.close();
});

function capture(): Io & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return { out: (t) => void (out += t), err: (t) => void (err += t), env: process.env, stdout: () => out, stderr: () => err };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("retrohook test-target NAME", () => {
  it("sends one signed retrohook.test event; exit 0 on 2xx, 1 otherwise, printing the status; works while the state is locked", async () => {
    const { path } = writeConfig({
      server: { listen: "127.0.0.1:0" },
      sources: [restSourceYaml(api.url, api.token)],
      targets: [
        { name: "erp", url: erp.url, secret: SECRET },
        { name: "gone", url: `http://127.0.0.1:${await closedPort()}/hooks` },
      ],
    });
    // As if the daemon ran: the state lock is held.
    const lock = await openStateStore(loadConfig(path).state.url);
    try {
      erp.reply({ status: 204 });
      const ok = capture();
      expect(await testTargetCommand.run({ config: path }, ok, ["erp"])).toBe(0);
      expect(ok.stdout()).toMatch(/^erp: HTTP 204 in \d+ ms \(event evt_test_[0-9a-f]+\)\n$/);
      expect(verifySignature(erp.requests[0]!, SECRET)).toMatchObject({ type: "retrohook.test", resource: null, kind: null, record_id: null, source: "retrohook" });

      erp.reply({ status: 500, body: "boom" });
      const failed = capture();
      expect(await testTargetCommand.run({ config: path }, failed, ["erp"])).toBe(1);
      expect(failed.stdout()).toMatch(/^erp: HTTP 500 in/);
      expect(failed.stderr()).toMatch(/response body: boom/);

      const unreachable = capture();
      expect(await testTargetCommand.run({ config: path }, unreachable, ["gone"])).toBe(1);
      expect(unreachable.stdout()).toMatch(/^gone: no response \(connection: .*ECONNREFUSED/);

      await expect(testTargetCommand.run({ config: path }, capture(), ["nope"])).rejects.toThrow(UsageError);
      await expect(testTargetCommand.run({ config: path }, capture(), [])).rejects.toThrow(/exactly one target NAME/);
    } finally {
      await lock.close();
    }
    expect(erp.requests).toHaveLength(2);
  });
});

describe("retrohook replay", () => {
  it("requeues a dead letter or an event by id on the state file; the next once delivers it with the same id", async () => {
    api.create();
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token, { start: "backfill" })], targets: [{ name: "erp", url: erp.url, secret: SECRET }] });
    expect((await runCli(["once", "-c", path])).code).toBe(1);
    const eventId = erp.requests[0]!.headers["webhook-id"] as string;

    expect((await runCli(["replay", "-c", path])).code).toBe(2);
    expect((await runCli(["replay", "--event", eventId, "--dead-letters", "-c", path])).code).toBe(2);
    const unknownTarget = await runCli(["replay", "--dead-letters", "--target", "nope", "-c", path]);
    expect(unknownTarget.code).toBe(2);
    expect(unknownTarget.stderr).toMatch(/--target nope: no such target \(configured: erp\)/);
    const unknownEvent = await runCli(["replay", "--event", "evt_nope", "-c", path]);
    expect(unknownEvent.code).toBe(1);
    expect(unknownEvent.stderr).toMatch(/no event "evt_nope" in state/);

    const replay = await runCli(["replay", "--event", eventId, "-c", path]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toBe(`replayed event ${eventId}: 1 delivery queued for erp; the next run or once delivers them\n`);
    const nothing = await runCli(["replay", "--dead-letters", "-c", path]);
    expect(nothing.code).toBe(0);
    expect(nothing.stderr).toMatch(/nothing to replay: no dead letters/);

    erp.reply({ status: 200 });
    expect((await runCli(["once", "-c", path])).code).toBe(0);
    expect(erp.requests).toHaveLength(2);
    expect(erp.requests[1]!.headers["webhook-id"]).toBe(eventId);

    // A delivered event can be sent again, to a named target.
    expect((await runCli(["replay", "--event", eventId, "--target", "erp", "-c", path])).stdout).toMatch(/1 delivery queued for erp/);
    expect((await runCli(["once", "-c", path])).code).toBe(0);
    expect(erp.requests[2]!.headers["webhook-id"]).toBe(eventId);
  });
});
