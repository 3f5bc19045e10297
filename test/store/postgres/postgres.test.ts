import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { StateError, StateUnavailableError } from "../../../src/errors.js";
import { openStateStore } from "../../../src/store/open.js";
import { boolArray, numberArray, textArray } from "../../../src/store/postgres/binary-array.js";
import { Db } from "../../../src/store/postgres/db.js";
import { checkPostgres, postgresStateHeld } from "../../../src/store/postgres/open.js";
import { parsePostgresUrl } from "../../../src/store/postgres/url.js";
import { redactStateUrl, stateUrlPassword } from "../../../src/store/url.js";
import { freePort } from "../../helpers/ports.js";
import { postgresForFile, sql } from "../../helpers/postgres.js";
import { item } from "../contract/backend.js";

/** What only PostgreSQL has: migrations, the URL and its password, connections that break. */
const pgServer = postgresForFile();

const schemaOf = (url: string): string => /schema=([a-z0-9_]+)/.exec(url)![1]!;
const tables = async (url: string): Promise<string[]> => (await sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", [schemaOf(url)])).map((r) => r.tablename as string);

describe("migrations", () => {
  it("two processes starting together apply them once; one of them owns the state", async () => {
    const url = pgServer().freshUrl();
    const opened = await Promise.allSettled([openStateStore(url), openStateStore(url), openStateStore(url)]);
    const owners = opened.filter((o) => o.status === "fulfilled").map((o) => o.value);
    expect(owners).toHaveLength(1);
    for (const o of opened) if (o.status === "rejected") expect(String(o.reason)).toMatch(/is in use by another retrohook process \(it holds the schema's lock\)/);
    expect(await postgresStateHeld(url)).toBe(true);
    await owners[0]!.close();
    expect(await postgresStateHeld(url)).toBe(false);
    const applied = await sql(url, `SELECT version, name FROM "${schemaOf(url)}".schema_migrations`);
    expect(applied).toEqual([{ version: 1, name: "init" }, { version: 2, name: "pass-journal" }, { version: 3, name: "fixed-bodies" }, { version: 4, name: "replicas" }, { version: 5, name: "retention" }, { version: 6, name: "staging" }]);
    // A dry run reads beside the owner.
    const owner = await openStateStore(url);
    const dry = await openStateStore(url, { readOnly: true });
    expect(dry.epoch).toBe(owner.epoch);
    await dry.close();
    await owner.close();
  });

  it("validate's check lists pending migrations without applying them", async () => {
    const url = pgServer().freshUrl();
    expect(await checkPostgres(url)).toEqual({ current: 0, pending: [{ version: 1, name: "init" }, { version: 2, name: "pass-journal" }, { version: 3, name: "fixed-bodies" }, { version: 4, name: "replicas" }, { version: 5, name: "retention" }, { version: 6, name: "staging" }] });
    expect(await tables(url)).toEqual([]);
    const store = await openStateStore(url);
    await store.close();
    expect(await checkPostgres(url)).toEqual({ current: 6, pending: [] });
  });

  it("refuses a database newer than the code, with a clear message", async () => {
    const url = pgServer().freshUrl();
    await (await openStateStore(url)).close();
    await sql(url, `INSERT INTO "${schemaOf(url)}".schema_migrations (version, name) VALUES (999, 'future')`);
    await expect(openStateStore(url)).rejects.toThrow(/schema version 999, newer than this retrohook knows \(6\).*upgrade this one/);
    await expect(checkPostgres(url)).rejects.toThrow(/newer than this retrohook knows/);
  });

  it("a dry run on a database never used leaves no schema behind", async () => {
    const url = pgServer().freshUrl();
    const dry = await openStateStore(url, { readOnly: true });
    await dry.putResourceState({ source: "s", resource: "r" }, { generation: "g", initialized: true });
    expect(await dry.getResourceState({ source: "s", resource: "r" })).toMatchObject({ initialized: true });
    await dry.close();
    expect(await sql(url, "SELECT 1 FROM pg_namespace WHERE nspname = $1", [schemaOf(url)])).toEqual([]);
  });
});

describe("the URL and its password", () => {
  it("never shows the password: redacted form, secret scrubbing, errors", async () => {
    expect(redactStateUrl("postgres://app:s3cr%40t@db.internal:5432/rh?schema=x&sslmode=require")).toBe("postgres://app:***@db.internal:5432/rh?schema=x&sslmode=require");
    expect(stateUrlPassword("postgres://app:s3cr%40t@db.internal/rh")).toBe("s3cr@t");
    expect(stateUrlPassword("sqlite:///data/x.sqlite")).toBeUndefined();
    const wrong = pgServer().url.replace(/:[^:@/]+@/, ":wrong-password-123@");
    const error = await openStateStore(`${wrong}?schema=t_wrong`).then(() => undefined, (e: unknown) => e as Error);
    expect(error).toBeInstanceOf(StateError);
    expect(error!.message).toMatch(/password authentication failed|check the user and password/);
    expect(error!.message).not.toContain("wrong-password-123");
    const down = `postgres://u:hunter22@127.0.0.1:${await freePort()}/db`;
    const refused = await openStateStore(down).then(() => undefined, (e: unknown) => e as Error);
    expect(refused).toBeInstanceOf(StateUnavailableError);
    expect(refused!.message).toMatch(/is PostgreSQL running and reachable\?/);
    expect(refused!.message).not.toContain("hunter22");
  });

  it("rejects a bad schema name and a URL without a database", () => {
    expect(() => parsePostgresUrl("postgres://u:p@h/db?schema=Robert');DROP")).toThrow(/schema .* must be lower-case letters/);
    expect(() => parsePostgresUrl("postgres://u:p@h")).toThrow(/names no database/);
  });

  it("takes sslmode and a CA file as psql does: a missing CA file is named", async () => {
    const url = `${pgServer().url}?schema=t_tls&sslmode=verify-full&sslrootcert=/nonexistent/ca.pem`;
    await expect(openStateStore(url)).rejects.toThrow(/\/nonexistent\/ca\.pem/);
    // require without a CA: encryption is asked for; this test server has none, and says so.
    await expect(openStateStore(`${pgServer().url}?schema=t_tls&sslmode=require`)).rejects.toThrow(/SSL|ssl/);
    // disable: plain connection, as psql.
    const plain = await openStateStore(`${pgServer().url}?schema=t_tls&sslmode=disable`);
    await plain.close();
  });
});

describe("broken connections and retried transactions", () => {
  it("a connection cut inside a write fails it loudly, commits nothing, and the next call reconnects", async () => {
    const url = pgServer().freshUrl();
    const store = await openStateStore(url);
    await store.close();
    const db = new Db(parsePostgresUrl(url), false);
    const failed = await db
      .tx(async (q) => {
        await q("INSERT INTO @.meta (key, value) VALUES ('half', 'written')");
        const [{ pid }] = (await q("SELECT pg_backend_pid() AS pid")) as [{ pid: number }];
        await sql(pgServer().url, "SELECT pg_terminate_backend($1)", [pid]);
        await q("INSERT INTO @.meta (key, value) VALUES ('other', 'half')");
      })
      .then(() => undefined, (error: unknown) => error as Error);
    expect(failed).toBeInstanceOf(StateUnavailableError);
    expect(failed!.message).toMatch(/state write failed .*(terminat|connection error).*is PostgreSQL running and reachable/is);
    // Nothing of it was committed; the pool connects anew.
    expect(await db.query("SELECT key FROM @.meta WHERE key IN ('half', 'other')")).toEqual([]);
    await db.close();
    const again = await openStateStore(url);
    await again.enqueue([item("e1", "r1", ["a"])]);
    expect((await again.listPending("a")).map((d) => d.eventId)).toEqual(["e1"]);
    await again.close();
  });

  it("runs a transaction again after a serialization failure or a deadlock, and gives up on other errors", async () => {
    const url = pgServer().freshUrl();
    await (await openStateStore(url)).close();
    const db = new Db(parsePostgresUrl(url), false);
    let attempts = 0;
    const result = await db.tx(async (q) => {
      attempts += 1;
      await q("INSERT INTO @.meta (key, value) VALUES ($1, 'x') ON CONFLICT (key) DO UPDATE SET value = 'y'", [`k${attempts}`]);
      if (attempts <= 2) throw Object.assign(new Error(attempts === 1 ? "could not serialize access" : "deadlock detected"), { code: attempts === 1 ? "40001" : "40P01" });
      return "done";
    });
    expect(result).toBe("done");
    expect(attempts).toBe(3);
    // The failed attempts' writes were rolled back.
    expect((await db.query("SELECT key FROM @.meta WHERE key LIKE 'k%' ORDER BY key")).map((r) => r.key)).toEqual(["k3"]);
    attempts = 0;
    await expect(
      db.tx(async () => {
        attempts += 1;
        throw Object.assign(new Error("unique violation"), { code: "23505" });
      }),
    ).rejects.toThrow(/state write failed.*unique violation/);
    expect(attempts).toBe(1);
    await db.close();
  });

  it("a real deadlock between two writers is retried until both commit", async () => {
    const url = pgServer().freshUrl();
    await (await openStateStore(url)).close();
    const db = new Db(parsePostgresUrl(url), false);
    await db.query("INSERT INTO @.meta (key, value) VALUES ('a', '0'), ('b', '0')");
    let barrier!: () => void;
    const both = new Promise<void>((resolve) => (barrier = resolve));
    let arrived = 0;
    const writer = (first: string, second: string) =>
      db.tx(async (q) => {
        await q("UPDATE @.meta SET value = (value::int + 1)::text WHERE key = $1", [first]);
        if (++arrived === 2) barrier();
        await Promise.race([both, new Promise((resolve) => setTimeout(resolve, 2_000))]);
        await q("UPDATE @.meta SET value = (value::int + 1)::text WHERE key = $1", [second]);
      });
    await Promise.all([writer("a", "b"), writer("b", "a")]);
    expect((await db.query("SELECT key, value FROM @.meta WHERE key IN ('a', 'b') ORDER BY key")).map((r) => r.value)).toEqual(["2", "2"]);
    await db.close();
  });
});

describe("a busy pool is not a database down", () => {
  /** The test URL, its host and port replaced by `port` on loopback. */
  const viaPort = (url: string, port: number): string => {
    const moved = new URL(url);
    moved.hostname = "127.0.0.1";
    moved.port = String(port);
    return moved.toString();
  };
  /** A transaction that holds its connection until `free()`. */
  const holdConnection = async (db: Db): Promise<{ free(): void; done: Promise<void> }> => {
    let free!: () => void;
    let held!: () => void;
    const gate = new Promise<void>((resolve) => (free = resolve));
    const checkedOut = new Promise<void>((resolve) => (held = resolve));
    const done = db.tx(async (q) => {
      await q("SELECT 1");
      held();
      await gate;
    });
    await checkedOut;
    return { free, done };
  };

  it("a call that waits over 10 s for the pool's only connection gets it once free, instead of failing as 'cannot connect'", async () => {
    const db = new Db(parsePostgresUrl(pgServer().freshUrl()), false, 1);
    try {
      const holding = db.query("SELECT pg_sleep(10.5)");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const asked = performance.now();
      expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
      expect(performance.now() - asked).toBeGreaterThan(10_000);
      await holding;
    } finally {
      await db.close();
    }
  }, 30_000);

  it("a pool that stays busy while the database answers fails the call with what holds it, not as unavailable", async () => {
    const db = new Db(parsePostgresUrl(pgServer().freshUrl()), false, 1, { connectMs: 200, poolWaitMs: 1_500 });
    const holder = await holdConnection(db);
    try {
      const failed = await db.query("SELECT 1").then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(failed).toBeInstanceOf(StateError);
      expect(failed).not.toBeInstanceOf(StateUnavailableError);
      expect(failed!.message).toMatch(/^no free connection to the state database \(postgres:\/\/.*\) after waiting \d+ s, though it answers: 1 of the pool's 1 connections are in use \(a transaction for \d+ s\) — a long statement or a lock wait holds them/);
      expect(failed!.message).not.toContain("retrohook-test");
      holder.free();
      await holder.done;
      // The connection the failed call would have had went back: the pool serves again.
      expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      holder.free();
      await db.close();
    }
  });

  it("a database gone while the pool is busy still fails the waiting call soon, as unavailable", async () => {
    // A TCP relay to the test database that stops accepting connections on demand.
    const sockets = new Set<Socket>();
    const relay = createServer((socket) => {
      const upstream = connect(Number(new URL(pgServer().url).port), new URL(pgServer().url).hostname);
      for (const end of [socket, upstream]) {
        sockets.add(end);
        end.on("error", () => undefined);
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    const db = new Db(parsePostgresUrl(viaPort(pgServer().freshUrl(), (relay.address() as AddressInfo).port)), false, 1, { connectMs: 300, poolWaitMs: 60_000 });
    const holder = await holdConnection(db);
    try {
      relay.close();
      const asked = performance.now();
      const failed = await db.query("SELECT 1").then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(failed).toBeInstanceOf(StateUnavailableError);
      expect(failed!.message).toMatch(/^cannot connect to the state database \(postgres:\/\/.*\): .*ECONNREFUSED.* — is PostgreSQL running and reachable\?/);
      // It did not wait for the pool (60 s), only for the connect timeout and one probe.
      expect(performance.now() - asked).toBeLessThan(20_000);
    } finally {
      holder.free();
      await holder.done.catch(() => undefined);
      for (const socket of sockets) socket.destroy();
      await db.close();
    }
  });

  it("a database that accepts a connection and never answers fails a new connection after the connect timeout, as unavailable", async () => {
    const silent = createServer((socket) => socket.on("error", () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const db = new Db(parsePostgresUrl(viaPort(pgServer().freshUrl(), (silent.address() as AddressInfo).port)), false, 1, { connectMs: 300 });
    try {
      const failed = await db.query("SELECT 1").then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(failed).toBeInstanceOf(StateUnavailableError);
      expect(failed!.message).toMatch(/^cannot connect to the state database \(postgres:\/\/.*\): timeout expired: no connection within 0.3 s — is PostgreSQL running and reachable\?/);
    } finally {
      await db.close();
      silent.close();
    }
  });
});

describe("retention beside a replay", () => {
  it("an event requeued while a sweep removes it keeps its event: the requeue's check and insert are one transaction the sweep waits for", async () => {
    const url = pgServer().freshUrl();
    const store = await openStateStore(url);
    await store.enqueue([item("old", "r1", [])]);
    // Another session holds writes to the outbox, so the requeue stops at its insert after
    // finding the event; the sweep comes in then and must not take the event away.
    const blocker = new pg.Client({ connectionString: pgServer().url });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query(`LOCK TABLE "${schemaOf(url)}".outbox IN EXCLUSIVE MODE`);
      const requeued = store.requeueEvent("old", ["a"], "r1").then(
        (deliveries) => deliveries.length,
        (error: unknown) => error as Error,
      );
      const waiting = async (): Promise<boolean> =>
        (await sql(url, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO%outbox%'")).length > 0;
      for (let i = 0; i < 200 && !(await waiting()); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await waiting()).toBe(true);
      const swept = store.pruneStep("events", Date.UTC(2026, 11, 31), 100);
      // Time for the sweep to delete the event if nothing stops it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await blocker.query("COMMIT");
      const [outcome] = await Promise.all([requeued, swept]);
      expect(outcome).toBe(1);
    } finally {
      await blocker.end();
    }
    const pending = await store.listPending();
    expect(pending.map((d) => d.eventId)).toEqual(["old"]);
    expect(await store.getEvent("old")).toBeDefined();
    // Once nothing refers to it, the sweep removes it; a requeue then says the event is gone.
    await store.ackDelivery(pending[0]!, { at: new Date().toISOString(), target: "a", eventId: "old", eventType: "invoice.created", recordKey: "r1", attempt: 1, outcome: "delivered", status: 200, latencyMs: 1 });
    await store.pruneStep("events", Date.UTC(2026, 11, 31), 100);
    await expect(store.requeueEvent("old", ["a"], "r1")).rejects.toThrow(/no event old in state/);
    expect(await store.listPending()).toEqual([]);
    await store.close();
  });
});

describe("arrays sent in binary", () => {
  it("round-trip every kind of text, NULLs, numbers and booleans exactly", async () => {
    const texts = ["", "plain", 'quote " and \\ backslash', "{braces},commas", "NULL", "zażółć 🎉 \u2028", '{"a":"\\u0000 escaped","b":[1,2]}', "x".repeat(70_000), null];
    const rows = await sql(
      pgServer().url,
      "SELECT t, i, b, n FROM unnest($1::text[], $2::int8[], $3::bool[], $4::int4[]) AS u(t, i, b, n)",
      [textArray(texts), numberArray("int8", [0, 1, -1, 2 ** 53 - 1, null, 5, 6, 7, 8]), boolArray([true, false, true, false, true, false, true, false, true]), numberArray("int4", [1, null, -2_147_483_648, 2_147_483_647, 0, 0, 0, 0, 0])],
    );
    expect(rows.map((r) => r.t)).toEqual(texts);
    expect(rows.map((r) => r.i)).toEqual(["0", "1", "-1", String(2 ** 53 - 1), null, "5", "6", "7", "8"]);
    expect(rows.map((r) => r.b)).toEqual([true, false, true, false, true, false, true, false, true]);
    expect(rows.map((r) => r.n)).toEqual([1, null, -2_147_483_648, 2_147_483_647, 0, 0, 0, 0, 0]);
    expect(await sql(pgServer().url, "SELECT cardinality($1::text[]) AS n", [textArray([])])).toEqual([{ n: 0 }]);
  });
});
