import pg from "pg";
import { StateError, StateUnavailableError, errorMessage } from "../../errors.js";
import { crashPoint } from "../../testing/fault-injection.js";
import { currentFence, FencedError } from "../fence.js";
import { checkFence, fencedWrite, recordRejection, unfencedWrite } from "./fencing.js";
import type { PostgresTarget } from "./url.js";

/** What a query needs: the SQL (with `@.` for the schema) and its parameters. */
export type Query = (text: string, values?: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** `COPY … FROM STDIN` with `chunks` as the whole data stream, on the caller's connection. */
export type CopyIn = (text: string, chunks: readonly Buffer[]) => Promise<void>;

/** SQLSTATEs worth running a transaction again for: serialization failure, deadlock. */
const RETRYABLE = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 5;

/**
 * How long a call waits for a connection. `connectMs`: a new connection that has not finished
 * its startup by then fails (the database is down or unreachable), and a call that has waited
 * this long for a free connection of a busy pool has the database probed on a connection of its
 * own. `poolWaitMs`: how long a call waits for a free connection while the database answers.
 */
export interface PoolTiming {
  connectMs: number;
  poolWaitMs: number;
}

const TIMING: PoolTiming = { connectMs: 10_000, poolWaitMs: 120_000 };

/** A probe that found the database answering stands for this long (many waiters, one probe). */
const PROBE_FRESH_MS = 1_000;

/** int8 (counters, sequence numbers) as numbers: they stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as "text"))) as typeof pg.types.getTypeParser,
};

/**
 * The connection pool and transactions of the PostgreSQL backend. Every statement's `@.` is
 * the configured schema (tables are always qualified: no `search_path`, so poolers that forbid
 * startup options work). A transaction that hits a serialization failure or a deadlock runs
 * again (up to 5 times); any other failure — a lost connection included — is thrown as a
 * StateError naming the database by its URL without the password, and what was not committed
 * is not there.
 *
 * A read-only Db (dry run) runs everything on one connection inside one transaction that is
 * rolled back on close: its writes are visible to itself and to nobody else, and nothing stays.
 */
export class Db {
  readonly pool: pg.Pool;
  private readonly prefix: string;
  private readonly texts = new Map<string, string>();
  /** Read-only: the one connection, inside its transaction; calls take turns. */
  private single: pg.PoolClient | undefined;
  private turn: Promise<unknown> = Promise.resolve();
  private savepoints = 0;
  private readonly timing: PoolTiming;
  private readonly poolSize: number;
  /** Checked-out connections: since when, for what (the message of a pool that stays busy). */
  private readonly holders = new Map<pg.PoolClient, Holder>();
  /** The probe in flight, or when the last one found the database answering. */
  private probe: Promise<void> | undefined;
  private probedAt = -Infinity;

  constructor(
    readonly target: PostgresTarget,
    readonly readOnly: boolean,
    poolSize = 10,
    timing: Partial<PoolTiming> = {},
  ) {
    this.prefix = `"${target.schema}".`;
    this.timing = { ...TIMING, ...timing };
    this.poolSize = readOnly ? 1 : poolSize;
    const connectMs = this.timing.connectMs;
    this.pool = new pg.Pool({
      ...target.pool,
      max: this.poolSize,
      types,
      keepAlive: true,
      // The connect timeout is the client's, for a new connection only: the pool's own
      // `connectionTimeoutMillis` would also cover the wait in its queue, and a pass that waited
      // 10 s behind busy connections would fail as "cannot connect" (`checkout` bounds that wait).
      Client: class extends pg.Client {
        constructor(config?: pg.ClientConfig) {
          super({ ...config, connectionTimeoutMillis: connectMs });
        }
      },
      idleTimeoutMillis: 30_000,
      // A database that stops answering (paused, partitioned) fails the call instead of hanging it.
      query_timeout: 120_000,
    });
    // An idle connection dropped by the server (restart, failover) must not crash the process:
    // the pool discards it and the next call connects anew.
    this.pool.on("error", () => undefined);
    this.pool.on("release", (_error: unknown, client: pg.PoolClient) => this.holders.delete(client));
  }

  /** `@.` → `"schema".` (cached per statement). */
  sql(text: string): string {
    let out = this.texts.get(text);
    if (out === undefined) {
      out = text.replaceAll("@.", this.prefix);
      this.texts.set(text, out);
    }
    return out;
  }

  /** Read-only: opens the one transaction every call of this Db runs in. */
  async begin(): Promise<void> {
    if (!this.readOnly || this.single) return;
    const client = await this.connect("the dry run");
    try {
      await client.query("BEGIN");
    } catch (error) {
      client.release(true);
      throw this.failure("cannot start the dry-run transaction", error);
    }
    this.single = client;
  }

  /**
   * One statement, outside any transaction of the caller (autocommit). `name`: a prepared
   * statement, parsed and planned once per connection (for the statements run per delivery).
   */
  async query(text: string, values?: unknown[], name?: string): Promise<Array<Record<string, unknown>>> {
    if (this.single) return this.inTurn(async (client) => (await run(client, this.sql(text), values, name)).rows);
    let client: pg.PoolClient | undefined;
    try {
      client = await this.connect("a statement");
      const result = await run(client, this.sql(text), values, name);
      client.release();
      return result.rows;
    } catch (error) {
      client?.release(true);
      throw this.failure("state query failed", error);
    }
  }

  /**
   * A write of one or a few statements (`@fenced` in them: see `fencedWrite`) as ONE statement,
   * its own transaction, in one round trip: under a fence (a replica's pass) the fence check is
   * part of it and a stale token's write is refused whole, as `tx` refuses it. A serialization
   * failure or a deadlock runs it again, as `tx` does.
   */
  async write(statements: string | readonly string[], values: unknown[] = []): Promise<void> {
    const list = typeof statements === "string" ? [statements] : statements;
    const fence = currentFence();
    if (!fence || this.single) {
      await this.query(unfencedWrite(list), values);
      return;
    }
    const text = this.sql(fencedWrite(list, values.length));
    const params = [...values, fence.source, fence.owner, fence.token];
    for (let attempt = 1; ; attempt += 1) {
      let client: pg.PoolClient | undefined;
      try {
        client = await this.connect("a write");
        const result = await run(client, text, params);
        client.release();
        client = undefined;
        if (result.rows[0]?.fenced !== true) throw new FencedError(fence);
        return;
      } catch (error) {
        client?.release(true);
        const code = (error as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20 * attempt));
          continue;
        }
        if (error instanceof FencedError) recordRejection(this, error.fence);
        throw this.failure("state write failed", error);
      }
    }
  }

  /**
   * Runs `fn` in one transaction and commits it; `crash` names the test crash point reached
   * just before the commit. Under a fence (a replica's pass, src/store/fence.ts) the fence is
   * checked first, in the same transaction: a stale token's transaction is refused whole.
   */
  async tx<T>(fn: (q: Query, copy: CopyIn) => Promise<T>, crash?: string): Promise<T> {
    const fence = currentFence();
    if (this.single) {
      return this.inTurn(async (client) => {
        const name = `s${++this.savepoints}`;
        await client.query(`SAVEPOINT ${name}`);
        try {
          const out = await fn(querier(client, this), copier(client, this));
          await client.query(`RELEASE SAVEPOINT ${name}`);
          return out;
        } catch (error) {
          await client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
          throw error;
        }
      });
    }
    for (let attempt = 1; ; attempt += 1) {
      let client: pg.PoolClient | undefined;
      let broken = false;
      try {
        client = await this.connect("a transaction");
        await client.query("BEGIN");
        if (fence) await checkFence(querier(client, this), fence);
        const out = await fn(querier(client, this), copier(client, this));
        if (crash) crashPoint(crash);
        await client.query("COMMIT");
        return out;
      } catch (error) {
        broken = !(await rollback(client));
        const code = (error as { code?: string }).code;
        if (!broken && code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
          client?.release();
          client = undefined;
          await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20 * attempt));
          continue;
        }
        if (error instanceof FencedError) recordRejection(this, error.fence);
        throw this.failure("state write failed", error);
      } finally {
        client?.release(broken);
      }
    }
  }

  async close(): Promise<void> {
    if (this.single) {
      const client = this.single;
      this.single = undefined;
      await this.turn.catch(() => undefined);
      try {
        await client.query("ROLLBACK");
        client.release();
      } catch {
        client.release(true);
      }
    }
    await this.pool.end();
  }

  private async connect(what: string): Promise<pg.PoolClient> {
    const client = await this.checkout();
    // A connection cut while checked out between two statements emits "error" on the client,
    // which would end the process with nobody listening; the next statement fails instead.
    if (!guarded.has(client)) {
      guarded.add(client);
      client.on("error", () => undefined);
    }
    this.holders.set(client, { what, source: currentFence()?.source, since: performance.now() });
    return client;
  }

  /**
   * A connection of the pool. A wait for one is not a connect failure: past `connectMs` the
   * database is probed on a connection of its own — down or unreachable, the call fails at once
   * as unavailable; answering, the call keeps waiting for a free connection, up to `poolWaitMs`,
   * and then fails with what holds the pool.
   */
  private async checkout(): Promise<pg.PoolClient> {
    const pool = this.pool;
    // No turn to wait for: an idle connection for every waiter, or a new one (its own timeout).
    if (pool.idleCount > pool.waitingCount || (pool.idleCount === 0 && pool.waitingCount === 0 && pool.totalCount < this.poolSize)) {
      try {
        return await pool.connect();
      } catch (error) {
        throw this.connectFailure(error);
      }
    }
    const started = performance.now();
    const pending = pool.connect();
    let timer: NodeJS.Timeout | undefined;
    const late = (ms: number): Promise<undefined> =>
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
        timer.unref();
      });
    try {
      let got = await Promise.race([pending, late(this.timing.connectMs)]);
      clearTimeout(timer);
      if (got) return got;
      const probed = this.probeDatabase().then(() => undefined);
      got = await Promise.race([pending, probed]);
      if (got) return got;
      got = await Promise.race([pending, late(this.timing.poolWaitMs - (performance.now() - started))]);
      clearTimeout(timer);
      if (got) return got;
      throw this.poolBusy(performance.now() - started);
    } catch (error) {
      clearTimeout(timer);
      // A connection that comes after the call gave up goes back to the pool.
      pending.then(
        (client) => client.release(),
        () => undefined,
      );
      throw error instanceof StateError ? error : this.connectFailure(error);
    }
  }

  private connectFailure(error: unknown): StateError {
    // The client's own connect timeout says only "timeout expired".
    const timedOut = errorMessage(error) === "timeout expired";
    return this.failure("cannot connect to the state database", timedOut ? new Error(`timeout expired: no connection within ${this.timing.connectMs / 1000} s`) : error);
  }

  /** Resolves when the database accepts a new connection and answers on it; rejects when not. */
  private probeDatabase(): Promise<void> {
    if (performance.now() - this.probedAt < PROBE_FRESH_MS) return Promise.resolve();
    this.probe ??= (async () => {
      const client = new pg.Client({ ...this.target.pool, connectionTimeoutMillis: this.timing.connectMs, query_timeout: this.timing.connectMs });
      client.on("error", () => undefined);
      try {
        await client.connect();
        await client.query("SELECT 1");
        this.probedAt = performance.now();
      } catch (error) {
        // Too many connections: the database answers; the pool only has to wait its turn.
        if ((error as { code?: string }).code === "53300") return;
        throw error;
      } finally {
        this.probe = undefined;
        await client.end().catch(() => undefined);
      }
    })();
    return this.probe;
  }

  /** The pool stayed busy while the database answered: what holds its connections, and since when. */
  private poolBusy(waitedMs: number): StateError {
    const now = performance.now();
    const held = [...this.holders.values()].sort((a, b) => a.since - b.since);
    const shown = held.slice(0, 5).map((h) => `${h.what}${h.source === undefined ? "" : ` of source ${h.source}`} for ${Math.round((now - h.since) / 1000)} s`);
    if (held.length > shown.length) shown.push(`${held.length - shown.length} more`);
    return new StateError(
      `no free connection to the state database (${this.target.shown}) after waiting ${Math.round(waitedMs / 1000)} s, though it answers: ` +
        `${held.length} of the pool's ${this.poolSize} connections are in use (${shown.join(", ") || "none held here"}) — ` +
        "a long statement or a lock wait holds them: look at pg_stat_activity",
    );
  }

  private inTurn<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = this.single!;
    const next = this.turn.then(
      () => fn(client),
      () => fn(client),
    );
    this.turn = next.catch(() => undefined);
    return next.catch((error: unknown) => {
      throw this.failure("state query failed (dry run)", error);
    });
  }

  /** A StateError that says what failed and where, the password never in it. */
  failure(what: string, error: unknown): StateError {
    if (error instanceof StateError) return error;
    const code = (error as { code?: string }).code;
    const password = passwordOf(this.target);
    let message = errorMessage(error) || (code ?? "unknown error");
    if (password) message = message.replaceAll(password, "***");
    const unavailable = isUnavailable(code, message);
    const hint =
      code === "53300" ? " — too many connections: raise max_connections or lower other clients"
      : unavailable ? " — is PostgreSQL running and reachable?"
      : code === "28P01" || code === "28000" ? " — check the user and password in state.url"
      : code === "3D000" ? " — create the database first (CREATE DATABASE)"
      : code === "42501" ? " — the user lacks a privilege on the database or schema"
      : "";
    const text = `${what} (${this.target.shown}): ${code && !message.includes(code) ? `${code}: ` : ""}${message}${hint}`;
    // Only the SQLSTATE goes along (for fallbacks on a given error), never the driver's error itself.
    const failure = unavailable ? new StateUnavailableError(text) : new StateError(text);
    if (code) Object.defineProperty(failure, "sqlState", { value: code });
    return failure;
  }
}

/** Connection-level failures: refused, reset, timed out, server shutting down or starting up. */
function isUnavailable(code: string | undefined, message: string): boolean {
  if (code && ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "57P01", "57P02", "57P03", "53300"].includes(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|^timeout expired|the database system is (starting up|shutting down)/i.test(message);
}

const guarded = new WeakSet<pg.PoolClient>();

interface Holder {
  what: string;
  source: string | undefined;
  since: number;
}

function passwordOf(target: PostgresTarget): string | undefined {
  try {
    const url = new URL(target.pool.connectionString ?? "");
    return url.password ? decodeURIComponent(url.password) : undefined;
  } catch {
    return undefined;
  }
}

function run(client: pg.PoolClient, text: string, values?: unknown[], name?: string): Promise<pg.QueryResult<Record<string, unknown>>> {
  return name === undefined ? client.query(text, values) : client.query({ name, text, ...(values ? { values } : {}) });
}

function querier(client: pg.PoolClient, db: Db): Query {
  return async (text, values) => (await run(client, db.sql(text), values)).rows;
}

function copier(client: pg.PoolClient, db: Db): CopyIn {
  return (text, chunks) =>
    new Promise<void>((resolve, reject) => {
      client.query(new CopyFrom(db.sql(text), chunks, (error) => (error === undefined ? resolve() : reject(error))) as never);
    });
}

/**
 * A `COPY … FROM STDIN` as a `pg` submittable (what `client.query` runs in its turn): sends the
 * statement, then the data and its end when the server asks for it. Settles once,
 * at the first error (a server error, a lost connection) or when the server is ready again.
 */
class CopyFrom {
  private done = false;
  private error: Error | undefined;

  constructor(
    private readonly text: string,
    private readonly chunks: readonly Buffer[],
    /** `pg` wraps it when a query timeout is set (to clear its timer): called, never kept aside. */
    public callback: (error?: Error) => void,
  ) {}

  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void }): void {
    for (const chunk of this.chunks) connection.sendCopyFromChunk(chunk);
    connection.endCopyFrom();
  }

  handleError(error: Error): void {
    this.error ??= error;
    this.settle();
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  private settle(): void {
    if (this.done) return;
    this.done = true;
    this.callback(this.error);
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** The SQLSTATE of a failure `Db` threw (or of a driver error). */
export function sqlState(error: unknown): string | undefined {
  const held = error as { sqlState?: string; code?: string } | undefined;
  return held?.sqlState ?? held?.code;
}

/** Rolls back; false when the connection is unusable (it is then destroyed, not reused). */
async function rollback(client: pg.PoolClient | undefined): Promise<boolean> {
  if (!client) return true;
  try {
    await client.query("ROLLBACK");
    return true;
  } catch {
    return false;
  }
}
