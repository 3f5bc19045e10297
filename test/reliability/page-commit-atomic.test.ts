import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { closingAfterEach } from "../helpers/closing.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { postgresForFile } from "../helpers/postgres.js";
import { startReceiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp.js";

/**
 * A change's events and its snapshots are one write: a process killed between "the events are
 * in the outbox" and "the snapshots are written" used to leave a `created` with no snapshot, and
 * when the record was deleted upstream before the next pass, its `deleted` never came — the
 * receiver kept a record the vendor had deleted. Whatever the crash point, the receiver gets
 * `created` and then `deleted`, or neither; never a lone `created`.
 */
const closeLater = closingAfterEach();
const pg = postgresForFile();

/** Killed before the one commit: neither event goes out; after it: both do. */
const POINTS: Record<string, string[]> = {
  "store:enqueue-before-commit": [],
  "store:snapshots-before-commit": [],
  "pass:after-outbox": ["item.created", "item.deleted"],
};

async function crashThenDelete(stateUrl: string, point: string): Promise<void> {
  const [api, receiver] = [closeLater(await startFakeRest()), closeLater(await startReceiver())];
  const dir = tempDir();
  for (let i = 0; i < 3; i += 1) api.create();
  const { path } = writeConfig({ state: { url: stateUrl }, sources: [restSourceYaml(api.url, api.token)], targets: [{ name: "erp", url: receiver.url, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }] }, dir);
  expect((await runCli(["once", "-c", path])).code).toBe(0); // the silent baseline
  const fresh = api.create({ name: "short-lived" });
  const crashLog = join(dir, "crash.log");
  const crashed = await runCli(["once", "-c", path], { RETROHOOK_CRASH_AT: point, RETROHOOK_CRASH_LOG: crashLog });
  expect(crashed.signal, `crash point ${point} was not reached: ${crashed.stderr}`).toBe("SIGKILL");
  // Deleted upstream before the next pass sees it.
  api.remove(fresh.id);
  for (let i = 0; i < 2; i += 1) expect((await runCli(["once", "--reconcile", "-c", path])).code).toBe(0);
  const mine = receiver
    .bodies<{ type: string; record_id: string }>()
    .filter((b) => b.record_id === String(fresh.id))
    .map((b) => b.type);
  // On the code before, a kill at pass:after-outbox or store:snapshots-before-commit left a lone `created`.
  expect(mine, `${point}: the receiver got ${mine.join(", ") || "nothing"}`).toEqual(POINTS[point]);
}

describe("a change's events and snapshots are committed together (kill between them)", () => {
  for (const point of Object.keys(POINTS)) {
    it(`SQLite, killed at ${point}: created then deleted, or neither`, async () => {
      await crashThenDelete(`sqlite://${join(tempDir(), "state.sqlite")}`, point);
    }, 60_000);
  }
  for (const point of ["pass:after-outbox", "store:snapshots-before-commit"]) {
    it(`PostgreSQL, killed at ${point}: created then deleted, or neither`, async () => {
      await crashThenDelete(pg().freshUrl(), point);
    }, 60_000);
  }
});

/**
 * A later pass holds its events back until it ends within its bounds (docs/decisions/0014); a
 * pass killed part-way leaves them staged, and the next pass sends them: each change exactly once.
 */
async function killedMidPass(stateUrl: string): Promise<void> {
  const [api, receiver] = [closeLater(await startFakeRest()), closeLater(await startReceiver())];
  const dir = tempDir();
  for (let i = 0; i < 250; i += 1) api.create();
  const { path } = writeConfig({ state: { url: stateUrl }, sources: [restSourceYaml(api.url, api.token)], targets: [{ name: "erp", url: receiver.url, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }] }, dir);
  expect((await runCli(["once", "-c", path])).code).toBe(0); // the silent baseline
  api.update(1, { name: "first page" });
  api.update(250, { name: "last page" });
  // Killed once the first page's change is committed (staged), two pages before the end.
  const crashed = await runCli(["once", "--reconcile", "-c", path], { RETROHOOK_CRASH_AT: "pass:after-snapshots", RETROHOOK_CRASH_LOG: join(dir, "crash.log") });
  expect(crashed.signal, crashed.stderr).toBe("SIGKILL");
  expect(receiver.requests).toHaveLength(0);
  for (let i = 0; i < 2; i += 1) expect((await runCli(["once", "--reconcile", "-c", path])).code).toBe(0);
  expect(receiver.bodies<{ type: string; record_id: string }>().map((b) => `${b.type}:${b.record_id}`).sort()).toEqual(["item.updated:1", "item.updated:250"]);
}

describe("a later pass killed part-way resumes: its staged changes go out once", () => {
  it("SQLite", async () => {
    await killedMidPass(`sqlite://${join(tempDir(), "state.sqlite")}`);
  }, 60_000);
  it("PostgreSQL", async () => {
    await killedMidPass(pg().freshUrl());
  }, 60_000);
});
