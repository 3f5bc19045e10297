import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import Keyv from "keyv";
import { describe, expect, it } from "vitest";
import { SqliteKv } from "../../src/store/sqlite-kv.js";
import { openStateStore } from "../../src/store/sqlite-store.js";
import type { EnqueueItem } from "../../src/store/store.js";
import { tempDir } from "../helpers/tmp.js";

function item(id: string, recordKey: string, targets: string[]): EnqueueItem {
  const envelope = { id, type: "invoice.created", source: "s", resource: "invoices", kind: null, record_id: "1", detected_at: "2026-11-23T10:00:00.000Z", data: { object: {} } };
  return { event: { envelope, body: JSON.stringify(envelope) }, recordKey, targets };
}

describe("SqliteKv as a keyv store", () => {
  it("works under Keyv and creates the file's folder", async () => {
    const file = join(tempDir(), "deep", "er", "state.sqlite");
    const kv = new SqliteKv(file);
    const keyv = new Keyv({ store: kv, namespace: "t", throwOnErrors: true });
    await keyv.set("a", { x: 1 });
    expect(await keyv.get("a")).toEqual({ x: 1 });
    expect(await keyv.has("a")).toBe(true);
    await keyv.delete("a");
    expect(await keyv.get("a")).toBeUndefined();
    await keyv.setMany([{ key: "b", value: 2 }, { key: "c", value: 3 }]);
    expect(await keyv.getMany(["b", "c", "z"])).toEqual([2, 3, undefined]);
    expect(existsSync(file)).toBe(true);
    kv.close();
  });

  it("throws instead of swallowing a failed write", async () => {
    const file = join(tempDir(), "state.sqlite");
    const kv = new SqliteKv(file);
    kv.db.exec("CREATE TRIGGER no_writes BEFORE INSERT ON kv BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
    const keyv = new Keyv({ store: kv, throwOnErrors: true });
    await expect(keyv.set("a", 1)).rejects.toThrow(/state write failed.*disk says no/);
    kv.close();
  });

  it("reads many keys in fixed-size chunks, finding every stored one whatever the count", () => {
    const kv = new SqliteKv(join(tempDir(), "many.sqlite"));
    kv.write(Array.from({ length: 800 }, (_, i) => ({ key: `k/${String(i).padStart(4, "0")}`, value: `v${i}` })));
    for (const count of [1, 4, 99, 137, 521, 1100]) {
      const keys = Array.from({ length: count }, (_, i) => `k/${String(i).padStart(4, "0")}`);
      const found = kv.getManyRaw(keys);
      expect(found.size).toBe(Math.min(count, 800));
      expect(found.get(keys[Math.min(count, 800) - 1]!)).toBe(`v${Math.min(count, 800) - 1}`);
    }
    kv.close();
  });

  it("moves a state file of an early build (WITHOUT ROWID table) into a rowid table, keeping every row", () => {
    const file = join(tempDir(), "old.sqlite");
    const old = new Database(file);
    old.exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER) WITHOUT ROWID");
    const insert = old.prepare("INSERT INTO kv (key, value, expires) VALUES (?, ?, NULL)");
    for (let i = 0; i < 300; i++) insert.run(`s/src/res/${String(i).padStart(4, "0")}`, `1\tfp${i}\t${"x".repeat(1100)}`);
    old.close();

    const kv = new SqliteKv(file);
    const { sql } = kv.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'kv'").get() as { sql: string };
    expect(sql).not.toMatch(/WITHOUT ROWID/i);
    expect(kv.count("s/src/res/")).toBe(300);
    expect(kv.getRaw("s/src/res/0042")).toBe(`1\tfp42\t${"x".repeat(1100)}`);
    expect(kv.getManyRaw(["s/src/res/0000", "s/src/res/0299", "s/src/res/nope"]).size).toBe(2);
    kv.close();
  });
});

describe("SqliteStateStore", () => {
  it("keeps a random epoch per state file across reopen", async () => {
    const url = `sqlite://${join(tempDir(), "s.sqlite")}`;
    const a = await openStateStore(url);
    const epoch = a.epoch;
    await a.close();
    const b = await openStateStore(url);
    expect(b.epoch).toBe(epoch);
    await b.close();
    const other = await openStateStore(`sqlite://${join(tempDir(), "t.sqlite")}`);
    expect(other.epoch).not.toBe(epoch);
    await other.close();
  });

  it("lets one process own a state file at a time", async () => {
    const url = `sqlite://${join(tempDir(), "s.sqlite")}`;
    const a = await openStateStore(url);
    await expect(openStateStore(url)).rejects.toThrow(/in use by another retrohook process/);
    await a.close();
    const b = await openStateStore(url);
    await b.close();
  });

  it("stores snapshots with tombstones and lists live refs", async () => {
    const store = await openStateStore(`sqlite://${join(tempDir(), "s.sqlite")}`);
    const id = { source: "s", resource: "invoices" };
    await store.putSnapshots(id, [
      { kind: null, id: "1", snapshot: { version: 1, fingerprint: "f1", json: '{"id":1}' } },
      { kind: "wz", id: "2", snapshot: { version: 3, fingerprint: "f2", json: '{"id":2}' } },
    ]);
    await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: { version: 2, fingerprint: "", json: "", gone: true } }]);
    const snaps = await store.getSnapshots(id, [{ kind: null, id: "1" }, { kind: "wz", id: "2" }, { kind: null, id: "3" }]);
    expect(snaps.get("\u001f1")).toMatchObject({ version: 2, gone: true });
    expect(snaps.get("wz\u001f2")).toEqual({ version: 3, fingerprint: "f2", json: '{"id":2}' });
    expect(snaps.has("\u001f3")).toBe(false);
    expect(await store.listSnapshotRefs(id)).toEqual([{ kind: "wz", id: "2" }]);
    expect(await store.countSnapshots(id)).toBe(1);
    await store.clearResource(id);
    expect(await store.countSnapshots(id)).toBe(0);
    expect((await store.getSnapshots(id, [{ kind: null, id: "1" }])).size).toBe(0);
    await store.close();
  });

  it("marks every snapshot change but a first write with the write sequence, in the same transaction", async () => {
    const file = join(tempDir(), "s.sqlite");
    let store = await openStateStore(`sqlite://${file}`);
    const id = { source: "s", resource: "invoices" };
    const other = { source: "s", resource: "other" };
    const snap = (version: number) => ({ version, fingerprint: "", json: `{"v":${version}}` });
    await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: snap(1), fresh: true }, { kind: null, id: "2", snapshot: snap(1), fresh: true }]);
    expect(await store.snapshotSeq()).toBe(0);
    await store.putSnapshots(id, [{ kind: null, id: "1", snapshot: snap(2) }]);
    await store.putSnapshots(other, [{ kind: null, id: "9", snapshot: snap(2) }]);
    await store.putSnapshots(id, [{ kind: null, id: "2", snapshot: { version: 2, fingerprint: "", json: "", gone: true } }]);
    expect(await store.snapshotSeq()).toBe(3);
    await store.putPageMarks(id, new Map([["page-a", 1], ["page-b", 3]]), false);
    await store.close();

    store = await openStateStore(`sqlite://${file}`);
    expect(await store.snapshotSeq()).toBe(3);
    const marks = await store.getPageMarks(id);
    expect(marks).toEqual({ pages: new Map([["page-a", 1], ["page-b", 3]]), changed: new Map([["\u001f1", 1], ["\u001f2", 3]]), seq: 3 });
    // A complete listing keeps only its pages, and the change marks newer than the oldest of them.
    await store.putPageMarks(id, new Map([["page-b", 3], ["page-c", 2]]), true);
    expect(await store.getPageMarks(id)).toEqual({ pages: new Map([["page-b", 3], ["page-c", 2]]), changed: new Map([["\u001f2", 3]]), seq: 3 });
    expect((await store.getPageMarks(other)).changed).toEqual(new Map([["\u001f9", 2]]));
    await store.clearResource(id);
    expect(await store.getPageMarks(id)).toEqual({ pages: new Map(), changed: new Map(), seq: 3 });
    await store.close();
  });

  it("enqueues each event id once, in sequence, per target", async () => {
    const store = await openStateStore("sqlite::memory:");
    const created = await store.enqueue([item("e1", "r1", ["a", "b"]), item("e2", "r1", ["a"])]);
    expect(created.map((d) => [d.target, d.eventId, d.seq])).toEqual([["a", "e1", 1], ["b", "e1", 2], ["a", "e2", 3]]);
    expect(await store.enqueue([item("e1", "r1", ["a"])])).toEqual([]);
    expect((await store.listPending("a")).map((d) => d.eventId)).toEqual(["e1", "e2"]);
    const [first] = await store.listPending("a");
    const log = { at: "x", target: "a", eventId: "e1", eventType: "invoice.created", recordKey: "r1", attempt: 1, outcome: "delivered" as const, status: 200, latencyMs: 3 };
    await store.ackDelivery(first!, log);
    expect((await store.listPending("a")).map((d) => d.eventId)).toEqual(["e2"]);
    const [second] = await store.listPending("a");
    await store.deadLetter(second!, { target: "a", eventId: "e2", recordKey: "r1", at: "x", attempts: 1, reason: "HTTP 400" }, { ...log, eventId: "e2", outcome: "dead", status: 400 });
    expect((await store.listDeadLetters("a")).map((d) => d.reason)).toEqual(["HTTP 400"]);
    const replayed = await store.requeueDeadLetters("a");
    expect(replayed.map((d) => d.eventId)).toEqual(["e2"]);
    expect(await store.listDeadLetters()).toEqual([]);
    expect((await store.listLog({ target: "a" })).map((l) => l.outcome)).toEqual(["dead", "delivered"]);
    expect(await store.dropPendingExcept(["a"])).toEqual({ b: 1 });
    await store.close();
  });

  it("bounds the delivery log per target", async () => {
    const store = await openStateStore("sqlite::memory:", { logLimit: 5 });
    for (let i = 0; i < 12; i += 1) {
      await store.appendLog({ at: String(i), target: "a", eventId: `e${i}`, eventType: "t", recordKey: "r", attempt: 1, outcome: "delivered", latencyMs: 1 });
    }
    expect((await store.listLog({ target: "a" })).map((l) => l.eventId)).toEqual(["e11", "e10", "e9", "e8", "e7"]);
    await store.close();
  });

  it("read-only never creates the file and never writes to it", async () => {
    const dir = tempDir();
    const file = join(dir, "none", "s.sqlite");
    const ro = await openStateStore(`sqlite://${file}`, { readOnly: true });
    await ro.putResourceState({ source: "s", resource: "r" }, { generation: "g", initialized: true });
    await ro.close();
    expect(existsSync(file)).toBe(false);

    const real = join(dir, "s.sqlite");
    const rw = await openStateStore(`sqlite://${real}`);
    await rw.putResourceState({ source: "s", resource: "r" }, { generation: "g", initialized: false });
    const epoch = rw.epoch;
    await rw.close();
    chmodSync(real, 0o444);
    const ro2 = await openStateStore(`sqlite://${real}`, { readOnly: true });
    expect(ro2.epoch).toBe(epoch);
    expect(await ro2.getResourceState({ source: "s", resource: "r" })).toMatchObject({ initialized: false });
    await ro2.putResourceState({ source: "s", resource: "r" }, { generation: "g", initialized: true });
    await ro2.close();
    chmodSync(real, 0o644);
    const again = await openStateStore(`sqlite://${real}`);
    expect(await again.getResourceState({ source: "s", resource: "r" })).toMatchObject({ initialized: false });
    await again.close();
  });

  it("reports a corrupted file clearly", async () => {
    const file = join(tempDir(), "s.sqlite");
    writeFileSync(file, "this is not a database, just text that is long enough to look like a header ".repeat(20));
    await expect(openStateStore(`sqlite://${file}`)).rejects.toThrow(/not a valid SQLite database|file is not a database/);
  });
});

describe("the record index", () => {
  it("lists every event of a record, oldest first, and only that record's", async () => {
    const store = await openStateStore("sqlite::memory:");
    await store.enqueue([item("e1", "s/r/\u001f1", []), item("e2", "s/r/\u001f12", ["a"]), item("e3", "s/r/\u001f1", ["a"])]);
    expect(await store.listEventIdsForRecord("s/r/\u001f1")).toEqual(["e1", "e3"]);
    expect(await store.listEventIdsForRecord("s/r/\u001f12")).toEqual(["e2"]);
    await store.close();
  });
});
