import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { freePort } from "../helpers/ports.js";
import { postgresForFile } from "../helpers/postgres.js";
import { startReceiver, verifySignature, type Receiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp.js";
import { closingAfterEach } from "../helpers/closing.js";
import { item } from "../store/contract/backend.js";

/**
 * Moving an installation from SQLite to PostgreSQL: events detected before the move (and not
 * yet delivered) are delivered once after it under their ids, records known before are not
 * announced again (no new baseline), and changes after the move are detected as usual.
 */
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const pg = postgresForFile();
let api: FakeRest;
let receiver: Receiver;

const closeLater = closingAfterEach();
beforeEach(async () => {
  api = closeLater(await startFakeRest());
  receiver = closeLater(await startReceiver());
});

describe("retrohook migrate-state", () => {
  it("moves a SQLite state into PostgreSQL: pending events delivered once after the move, no new baseline, nothing lost", async () => {
    const dir = tempDir();
    const sqliteUrl = `sqlite://${join(dir, "state.sqlite")}`;
    for (let i = 0; i < 3; i += 1) api.create();
    // Before the move the receiver is unreachable: what is detected stays pending.
    const down = `http://127.0.0.1:${await freePort()}/hook`;
    const before = writeConfig({ state: { url: sqliteUrl }, sources: [restSourceYaml(api.url, api.token)], targets: [{ name: "erp", url: down, secret: SECRET }] }, dir);
    expect((await runCli(["once", "-c", before.path])).code).toBe(0); // baseline: nothing announced
    const fresh = api.create({ name: "new" });
    api.update(2, { status: "paid" });
    await runCli(["once", "-c", before.path]);
    const old = await openStateStore(sqliteUrl, { readOnly: true });
    const pending = await old.listPending("erp");
    const pendingIds = pending.map((d) => d.eventId);
    const dueBy = Math.max(...pending.map((d) => d.nextAttemptAt));
    const epoch = old.epoch;
    await old.close();
    expect(pendingIds.length).toBe(3); // created 4, updated 2, paid 2

    const pgUrl = pg().freshUrl();
    const moved = await runCli(["migrate-state", "--from", sqliteUrl, "--to", pgUrl]);
    expect(moved.stderr).toBe("");
    expect(moved.code).toBe(0);
    expect(moved.stdout).toMatch(/moved .* → postgres:\/\/.*: 1 resources, 4 snapshots, .*3 events, 3 pending/);
    expect(moved.stdout).not.toContain("retrohook-test");
    // A second move into the same schema is refused: it holds state now.
    const again = await runCli(["migrate-state", "--from", sqliteUrl, "--to", pgUrl]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds state: move into an empty schema/);

    // `once` attempts only what is due: wait out the first retry delay of the attempts that failed before the move.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueBy - Date.now() + 200)));
    const after = writeConfig({ state: { url: pgUrl }, sources: [restSourceYaml(api.url, api.token)], targets: [{ name: "erp", url: receiver.url, secret: SECRET }] }, tempDir());
    expect((await runCli(["once", "-c", after.path])).code).toBe(0);
    const moved2 = await openStateStore(pgUrl, { readOnly: true });
    expect(moved2.epoch).toBe(epoch);
    await moved2.close();
    const bodies = () => receiver.bodies<{ id: string; type: string; record_id: string }>();
    expect(bodies().map((b) => b.id).sort()).toEqual([...pendingIds].sort());
    expect(bodies().map((b) => `${b.type}:${b.record_id}`).sort()).toEqual([`item.created:${fresh.id}`, "item.paid:2", "item.updated:2"].sort());
    for (const request of receiver.requests) verifySignature(request, SECRET);

    // Detection goes on from the moved cursor and snapshots.
    api.update(1, { name: "renamed" });
    expect((await runCli(["once", "-c", after.path])).code).toBe(0);
    expect(bodies().map((b) => `${b.type}:${b.record_id}`).filter((c) => !c.endsWith(`:${fresh.id}`) && !c.endsWith(":2"))).toEqual(["item.updated:1"]);
    expect(new Set(bodies().map((b) => b.id)).size).toBe(bodies().length);
  }, 120_000);

  it("moves what a pass stopped part-way kept apart: its staged events and its snapshot journal, released or discarded on the new state", async () => {
    const sqliteUrl = `sqlite://${join(tempDir(), "state.sqlite")}`;
    const id = { source: "s", resource: "invoices" };
    const other = { source: "s", resource: "other" };
    const snap = (version: number) => ({ version, fingerprint: `f${version}`, json: `{"v":${version}}` });
    const refs = ["1", "2", "3"].map((n) => ({ kind: null, id: n }));
    const old = await openStateStore(sqliteUrl);
    // Before the stopped pass: 1 live, 2 a tombstone, 3 unknown; then the pass staged changes of all three.
    await old.commitPage(id, [], [{ kind: null, id: "1", snapshot: snap(1), fresh: true }, { kind: null, id: "2", snapshot: { version: 2, fingerprint: "", json: "", gone: true }, fresh: true }]);
    const before = await old.getSnapshots(id, refs);
    await old.commitPage(id, [item("e1", "s/invoices/\u001f1", ["erp"]), item("e3", "s/invoices/\u001f3", ["erp"])], [{ kind: null, id: "1", snapshot: snap(2) }, { kind: null, id: "3", snapshot: snap(1), fresh: true }, { kind: null, id: "2", snapshot: snap(3), revived: true }], true);
    await old.commitPage(other, [item("o1", "s/other/\u001f1", ["erp"])], [{ kind: null, id: "1", snapshot: snap(1), fresh: true }], true);
    await old.close();

    const pgUrl = pg().freshUrl();
    const moved = await runCli(["migrate-state", "--from", sqliteUrl, "--to", pgUrl]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/3 staged/);
    const moved2 = await openStateStore(pgUrl);
    try {
      expect(await moved2.listPending()).toEqual([]);
      // The next pass of one resource ends past a bound: its events go, its snapshots come back as they were.
      expect(await moved2.discardStaged(id)).toBe(2);
      expect(await moved2.getSnapshots(id, refs)).toEqual(before);
      // The other's ends within bounds: its event is delivered under its id.
      expect((await moved2.releaseStaged(other)).deliveries.map((d) => [d.target, d.eventId])).toEqual([["erp", "o1"]]);
    } finally {
      await moved2.close();
    }
  }, 60_000);

  it("moves what explain, retries and the overview read: the pass journal, the bodies filters and transforms fixed, the hourly series", async () => {
    const sqliteUrl = `sqlite://${join(tempDir(), "state.sqlite")}`;
    const id = { source: "s", resource: "invoices" };
    const pass = (n: number) => ({ at: `2026-11-23T10:0${n}:00.000Z`, mode: "incremental" as const, listing: "incremental" as const, firstRun: false, ok: true, records: n, events: 1, baselined: 0, deleted: 0, listed: [`\u001f${n}`] });
    const series = { hours: [{ at: Date.UTC(2026, 10, 23, 10), events: { s: { "invoice.created": 2 } }, deliveries: { erp: { delivered: 2 } }, backlog: { erp: 1 }, latency: { erp: [1, 2, 2] } }] };
    const old = await openStateStore(sqliteUrl);
    await old.commitPage(id, [item("e1", "s/invoices/\u001f1", ["erp", "crm"])], []);
    await old.putFixedBody("e1", "erp", '{"transformed":true}');
    await old.putFixedBody("e1", "crm", "");
    for (const n of [1, 2, 3]) await old.appendPass(id, pass(n));
    await old.putSeries(series);
    await old.close();

    const pgUrl = pg().freshUrl();
    const moved = await runCli(["migrate-state", "--from", sqliteUrl, "--to", pgUrl]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/3 passes, 2 fixedBodies/);
    const moved2 = await openStateStore(pgUrl, { readOnly: true });
    try {
      expect(await moved2.listPasses(id)).toEqual([pass(1), pass(2), pass(3)]);
      expect((await moved2.getEvent("e1", "erp"))?.fixed).toBe('{"transformed":true}');
      expect((await moved2.getEvent("e1", "crm"))?.fixed).toBe("");
      expect(await moved2.getSeries()).toEqual(series);
    } finally {
      await moved2.close();
    }
  }, 60_000);

  it("refuses a state file in use and a wrong direction", async () => {
    const sqliteUrl = `sqlite://${join(tempDir(), "state.sqlite")}`;
    const held = await openStateStore(sqliteUrl);
    try {
      const result = await runCli(["migrate-state", "--from", sqliteUrl, "--to", pg().freshUrl()]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/in use by a running retrohook: stop it first/);
    } finally {
      await held.close();
    }
    const wrong = await runCli(["migrate-state", "--from", pg().freshUrl(), "--to", sqliteUrl]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/moves a sqlite:\/\/ state into a postgres:\/\/ one/);
  }, 60_000);
});
