import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import Keyv from "keyv";
import { describe, expect, it } from "vitest";
import { movable } from "../../../src/store/sqlite/baseline-writer.js";
import { SqliteKv, type KvOp } from "../../../src/store/sqlite/kv.js";
import { openStateStore } from "../../../src/store/open.js";
import { tempDir } from "../../helpers/tmp.js";

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

  it("applies operations in the caller's transaction only: refused outside one, and a failure rolls the whole transaction back", () => {
    const kv = new SqliteKv(join(tempDir(), "state.sqlite"));
    expect(() => kv.apply([{ key: "a", value: "1" }])).toThrow(/outside a transaction/);
    kv.write([{ key: "keep", value: "0" }]);
    kv.db.exec("CREATE TRIGGER no_poison BEFORE INSERT ON kv WHEN new.value = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
    expect(() =>
      kv.transaction(() => {
        kv.apply([{ key: "keep", delete: true }, { key: "a", value: "1" }]);
        kv.apply([{ key: "b", value: "poison" }]);
      }),
    ).toThrow(/poisoned/);
    expect([kv.getRaw("keep"), kv.getRaw("a"), kv.getRaw("b")]).toEqual(["0", undefined, undefined]);
    kv.transaction(() => kv.apply([{ key: "a", value: "1" }, { key: "keep", delete: true }]));
    expect([kv.getRaw("keep"), kv.getRaw("a")]).toEqual([undefined, "1"]);
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

describe("SQLite state: what only a file has (the contract suite covers the rest)", () => {
  it("lets one process own a state file at a time", async () => {
    const url = `sqlite://${join(tempDir(), "s.sqlite")}`;
    const a = await openStateStore(url);
    await expect(openStateStore(url)).rejects.toThrow(/in use by another retrohook process/);
    await a.close();
    const b = await openStateStore(url);
    await b.close();
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

describe("SQLite baseline writer: a response's bytes given away are moved to its thread, not copied", () => {
  const id = { source: "s", resource: "invoices" };
  const body = (n: number, from = 1): { bytes: Buffer; refs: Array<{ kind: null; id: string }> } => {
    const items = Array.from({ length: n }, (_, i) => ({ id: from + i, number: `FV/${from + i}`, total: "12.50" }));
    return { bytes: Buffer.from(JSON.stringify(items)), refs: items.map((item) => ({ kind: null, id: String(item.id) })) };
  };

  it("moves a buffer of its own when the caller gave it away, copies a pooled slice or bytes not given", () => {
    const own = body(120).bytes;
    expect(own.byteLength).toBe(own.buffer.byteLength); // large enough to have a buffer of its own
    expect(movable({ bytes: own, transferable: true })).toEqual([own.buffer]);
    expect(movable({ bytes: own })).toEqual([]);
    const pooled = Buffer.from("[1]");
    expect(pooled.byteLength).toBeLessThan(pooled.buffer.byteLength);
    expect(movable({ bytes: pooled, transferable: true })).toEqual([]);
  });

  it("writes from moved bytes, which read as empty afterwards; the bytes it was not given stay", async () => {
    const store = await openStateStore(`sqlite://${join(tempDir(), "state.sqlite")}`);
    try {
      const given = body(120);
      await store.putBaseline(id, { bytes: given.bytes, transferable: true }, given.refs);
      expect(given.bytes.byteLength).toBe(0); // moved, not copied
      const kept = body(120, 121);
      const copy = Buffer.from(kept.bytes);
      await store.putBaseline(id, { bytes: kept.bytes }, kept.refs);
      expect(kept.bytes.equals(copy)).toBe(true);
      expect(await store.countSnapshots(id)).toBe(240);
    } finally {
      await store.close();
    }
  });

  it("commits jobs waiting together, and a failing job fails only its own resource", async () => {
    const store = await openStateStore(`sqlite://${join(tempDir(), "state.sqlite")}`);
    try {
      const bad = { source: "s", resource: "broken" };
      const others = [{ source: "s", resource: "a" }, { source: "t", resource: "b" }];
      // Posted back to back: the writer's thread is still starting, so they wait and commit together.
      await store.putBaseline(others[0]!, { bytes: body(120).bytes, transferable: true }, body(120).refs);
      await store.putBaseline(bad, { bytes: Buffer.from("[{\"id\": 1}, not json".padEnd(400, " ")) }, body(60).refs);
      await store.putBaseline(others[1]!, { bytes: body(80, 500).bytes }, body(80, 500).refs);
      await expect(store.getResourceState(bad)).rejects.toThrow(/cannot write the baseline/);
      expect(await store.countSnapshots(others[0]!)).toBe(120);
      expect(await store.countSnapshots(others[1]!)).toBe(80);
      expect(await store.countSnapshots(bad)).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe("SQLite state: writes in multi-row statements keep the order of the operations", () => {
  it("stores every row of long runs, the later value of a key put twice, and deletes where they stand", () => {
    const kv = new SqliteKv(join(tempDir(), "kv.sqlite"));
    try {
      const puts = (from: number, n: number, tag: string): KvOp[] => Array.from({ length: n }, (_, i) => ({ key: `k/${String(from + i).padStart(4, "0")}`, value: `${tag}${from + i}` }));
      kv.write([...puts(0, 237, "a"), { key: "k/0003", value: "again" }, ...puts(300, 26, "b")]);
      expect(kv.count("k/")).toBe(263);
      expect(kv.getRaw("k/0003")).toBe("again");
      expect(kv.getRaw("k/0236")).toBe("a236");
      // A put, its delete, then a put of the same key inside one run of the same write.
      kv.write([...puts(0, 5, "c"), { key: "k/0001", delete: true }, { key: "k/0002", delete: true, through: "k/0004" }, ...puts(3, 1, "d"), { key: "k/0000", value: "e" }, { key: "k/0000", value: "f" }]);
      expect([kv.getRaw("k/0000"), kv.getRaw("k/0001"), kv.getRaw("k/0002"), kv.getRaw("k/0003"), kv.getRaw("k/0004")]).toEqual(["f", undefined, undefined, "d3", undefined]);
      expect(kv.count("k/")).toBe(260);
    } finally {
      kv.close();
    }
  });
});
