import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands/index.js";
import { testTargetCommand } from "../../src/cli/commands/test-target.js";
import type { Io } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { UsageError } from "../../src/errors.js";
import { openStateStore } from "../../src/store/open.js";
import { loadConfig } from "../../src/config/load.js";
import { freePort } from "../helpers/ports.js";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import type { FakeRest } from "../helpers/fake-rest.js";
import { verifySignature, type Receiver } from "../helpers/receiver.js";
import { vendorAndReceiverPerTest } from "../helpers/vendor-and-receiver.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

let api: FakeRest;
let erp: Receiver;
vendorAndReceiverPerTest({ receiver: { status: 422, body: "bad invoice" } }, (started) => ({ api, receiver: erp } = started));

function capture(env: NodeJS.ProcessEnv = process.env): Io & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return { out: (t) => void (out += t), err: (t) => void (err += t), env, stdout: () => out, stderr: () => err };
}

describe("retrohook test-target NAME", () => {
  it("sends one signed retrohook.test event; exit 0 on 2xx, 1 otherwise, printing the status; works while the state is locked", async () => {
    const { path } = writeConfig({
      server: { listen: "127.0.0.1:0" },
      sources: [restSourceYaml(api.url, api.token)],
      targets: [
        { name: "erp", url: erp.url, secret: SECRET },
        { name: "gone", url: `http://127.0.0.1:${await freePort()}/hooks` },
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
    // Eleven CLI processes one after another: more than the default 30 s on a loaded machine.
  }, 90_000);
});

describe("retrohook once --source NAME", () => {
  it("polls only that source; an unknown name is bad usage", async () => {
    api.create();
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token), restSourceYaml(api.url, "wrong-token", { name: "locked" })], targets: [] });
    const one = await runCli(["once", "--source", "legacy", "-c", path]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toMatch(/legacy\/items incremental: ok/);
    expect(one.stderr).not.toMatch(/locked/);
    expect(api.requests.every((r) => r.status !== 401)).toBe(true);
    const all = await runCli(["once", "-c", path]);
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/locked\/items incremental: .*HTTP 401/);
    const unknown = await runCli(["once", "--source", "nope", "-c", path]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--source nope: no such source \(configured: legacy, locked\)/);
  });
});

describe("retrohook reset --source S", () => {
  it("lifts a 401 suspension that outlives restarts (Troubleshooting: blocked: source suspended … HTTP 401)", async () => {
    api.create();
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token)], targets: [] });
    api.injectFault({ fault: { type: "status", status: 401 } });
    expect((await runCli(["once", "-c", path])).code).toBe(1);
    const asked = api.requests.length;
    const blocked = await runCli(["once", "-c", path]);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/blocked: source suspended since .*HTTP 401.*run retrohook reset --source legacy/);
    expect(api.requests.length, "a suspended source is not asked again").toBe(asked);

    const reset = await runCli(["reset", "--source", "legacy", "-c", path]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toBe("reset legacy: items; the next pass starts over\n");
    const after = await runCli(["once", "-c", path]);
    expect(after.code, after.stderr).toBe(0);
    expect(api.requests.length).toBeGreaterThan(asked);
    expect((await runCli(["reset", "-c", path])).stderr).toMatch(/--source is required/);
  });
});

describe("-c/--config FILE and --help", () => {
  it("every command prints its usage with --help (exit 0); --config, $RETROHOOK_CONFIG and ./config.yaml find the config", async () => {
    const top = capture();
    expect(await main(["--help"], top)).toBe(0);
    expect(top.stdout()).toMatch(/^retrohook — /);
    for (const name of Object.keys(commands)) {
      const io = capture();
      expect(await main([name, "--help"], io), name).toBe(0);
      expect(io.stdout(), name).toMatch(new RegExp(`^Usage: retrohook ${name}\\b`));
    }

    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token)], targets: [] });
    const long = capture();
    expect(await main(["validate", "--config", path], long)).toBe(0);
    expect(long.stdout()).toContain(`config ${path}: ok`);
    const fromEnv = capture({ RETROHOOK_CONFIG: path });
    expect(await main(["validate"], fromEnv)).toBe(0);
    expect(fromEnv.stdout()).toContain(`config ${path}: ok`);
    const nowhere = capture({ RETROHOOK_CONFIG: "" });
    expect(await main(["validate"], nowhere)).toBe(2);
    expect(nowhere.stderr()).toMatch(/no config file found \(looked at: .*config\.yaml\)/);
  });
});

describe("retrohook without a command", () => {
  it("is a usage error: exit 2, usage on stderr, nothing on stdout; --help prints it on stdout with exit 0", async () => {
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe("");
    expect(bare.stderr).toMatch(/no command given[\s\S]*Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config/);
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes/);
  });
});
