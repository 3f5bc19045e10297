import { EventEmitter } from "node:events";
import { closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { KeyvStoreAdapter, StoredData } from "keyv";
import { StateError } from "../../errors.js";

/**
 * A keyv store adapter over SQLite (better-sqlite3): WAL, a busy timeout, the file's folder
 * created, errors thrown (never swallowed), and what @keyv/sqlite lacks — atomic batches,
 * `setMany`, indexed `getMany`, ordered range scans by key prefix. Docs: docs/decisions/0001.
 *
 * Keys are ordered byte-wise, so `prefix/000000000042` keys give queues in sequence order.
 */

/** A put, a delete, or with `through` a delete of every key from `key` to `through` (both included). */
export type KvOp = { key: string; value: string } | { key: string; delete: true; through?: string };

export interface SqliteKvOptions {
  readOnly?: boolean;
  /** Use this open database (e.g. an in-memory copy) instead of opening `file`. */
  db?: Database.Database;
}

/**
 * State files hold every vendor record: a new file is created 0600 (SQLite gives its -wal and
 * -shm files the same mode) and the folders retrohook creates for it 0700. Existing files and
 * folders keep the mode their owner gave them.
 */
export function createPrivateFile(file: string): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, "a", 0o600));
}

/** Sizes of `IN (…)` chunks, largest first; the last must be 1. */
const CHUNK_SIZES = [500, 100, 20, 5, 1];
/** Most rows of one multi-row put statement (3 bound values each). */
const PUT_CHUNK = 100;

export class SqliteKv extends EventEmitter implements KeyvStoreAdapter {
  opts: { dialect: "sqlite"; url: string };
  namespace?: string;
  readonly db: Database.Database;
  private readonly statements: {
    get: Database.Statement<[string], { value: string; expires: number | null }>;
    put: Database.Statement<[string, string, number | null]>;
    del: Database.Statement<[string]>;
    delRange: Database.Statement<[string, string]>;
    range: Database.Statement<[string, string], { key: string; value: string }>;
    rangeAfter: Database.Statement<[string, string, number], { key: string; value: string }>;
    rangeFrom: Database.Statement<[string, string, number], { key: string; value: string }>;
    count: Database.Statement<[string, string], { n: number }>;
    keys: Database.Statement<[string, string], { key: string }>;
    last: Database.Statement<[string, string], { key: string; value: string }>;
  };

  constructor(
    readonly file: string,
    options: SqliteKvOptions = {},
  ) {
    super();
    this.opts = { dialect: "sqlite", url: file };
    try {
      // Only a file without pages yet takes `auto_vacuum`: on an existing file the pragma touches the
      // header, which a corrupted or read-only file must not get (it is kept as it is for recovery).
      const fresh = !options.db && (file === ":memory:" || !existsSync(file) || statSync(file).size === 0);
      if (file !== ":memory:" && !options.readOnly && !options.db) createPrivateFile(file);
      this.db = options.db ?? new Database(file, { readonly: options.readOnly ?? false, fileMustExist: options.readOnly ?? false });
      this.db.pragma("busy_timeout = 5000");
      if (!options.readOnly) {
        // A new file gives pages freed by retention back in steps (`PRAGMA incremental_vacuum`);
        // this takes effect only before the first table exists (docs/decisions/0015).
        if (fresh) this.db.pragma("auto_vacuum = INCREMENTAL");
        this.db.pragma("journal_mode = WAL");
        // NORMAL in WAL mode is durable across process crashes (kill -9); see decision 0001.
        this.db.pragma("synchronous = NORMAL");
        // Checkpoints (which fsync the file) every 16 MB of WAL instead of every 4 MB: a baseline
        // of 100,000 records writes ~130 MB. The WAL file is cut back to 16 MB after each.
        this.db.pragma("wal_autocheckpoint = 4000");
        this.db.pragma("journal_size_limit = 16777216");
        this.db.exec("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER)");
        migrateWithoutRowid(this.db);
      }
      // 16 MB of page cache: enough for the hot index pages; the OS caches the rest of the file.
      this.db.pragma("cache_size = -16384");
      this.statements = {
        get: this.db.prepare("SELECT value, expires FROM kv WHERE key = ?"),
        put: this.db.prepare("INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires"),
        del: this.db.prepare("DELETE FROM kv WHERE key = ?"),
        delRange: this.db.prepare("DELETE FROM kv WHERE key >= ? AND key <= ?"),
        range: this.db.prepare("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key"),
        rangeAfter: this.db.prepare("SELECT key, value FROM kv WHERE key > ? AND key < ? ORDER BY key LIMIT ?"),
        rangeFrom: this.db.prepare("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"),
        count: this.db.prepare("SELECT count(*) AS n FROM kv WHERE key >= ? AND key < ?"),
        keys: this.db.prepare("SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key"),
        last: this.db.prepare("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT 1"),
      };
    } catch (error) {
      throw stateError(`cannot open state file ${file}`, error);
    }
  }

  // ---- keyv adapter ----

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.getRaw(key) as StoredData<Value> | undefined;
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    this.write([{ key, value: String(value) }], ttl);
    return true;
  }

  async setMany(values: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    this.write(values.map((v) => ({ key: v.key, value: String(v.value) })));
  }

  async delete(key: string): Promise<boolean> {
    return this.run("delete", () => this.statements.del.run(key).changes > 0);
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let changed = false;
    this.run("delete", () =>
      this.db.transaction(() => {
        for (const key of keys) changed = this.statements.del.run(key).changes > 0 || changed;
      })(),
    );
    return changed;
  }

  async clear(): Promise<void> {
    const prefix = this.namespace ? `${this.namespace}:` : "";
    this.run("clear", () => this.db.prepare("DELETE FROM kv WHERE key >= ? AND key < ?").run(prefix, `${prefix}\uffff`));
  }

  async has(key: string): Promise<boolean> {
    return this.getRaw(key) !== undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    const found = this.getManyRaw(keys);
    return keys.map((key) => found.get(key) as StoredData<Value | undefined>);
  }

  async *iterator<Value>(namespace?: string): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const prefix = namespace ? `${namespace}:` : "";
    for (const [key, value] of this.range(prefix)) yield [key, value as Awaited<Value>];
  }

  async disconnect(): Promise<void> {
    this.close();
  }

  // ---- extensions used by the state store ----

  getRaw(key: string): string | undefined {
    const row = this.run("read", () => this.statements.get.get(key));
    if (!row) return undefined;
    if (row.expires !== null && row.expires <= Date.now()) return undefined;
    return row.value;
  }

  /**
   * One indexed query per chunk, not keyv's nested loop. Chunks have one of a few fixed sizes
   * (137 keys: 100 + 20 + 5 + 5 + 5 + 1 + 1), so a handful of prepared statements serve every
   * request and stay cached.
   */
  getManyRaw(keys: string[]): Map<string, string> {
    const out = new Map<string, string>();
    let i = 0;
    while (i < keys.length) {
      const size = CHUNK_SIZES.find((n) => n <= keys.length - i)!;
      const chunk = keys.slice(i, i + size);
      i += size;
      const rows = this.run("read", () => this.inStatement(size).all(...chunk));
      for (const row of rows) out.set(row.key, row.value);
    }
    return out;
  }

  private readonly inStatements = new Map<number, Database.Statement<string[], { key: string; value: string }>>();

  private inStatement(count: number): Database.Statement<string[], { key: string; value: string }> {
    return preparedFor(this.inStatements, count, () => this.db.prepare(`SELECT key, value FROM kv WHERE key IN (${new Array<string>(count).fill("?").join(",")})`));
  }

  /**
   * Applies all operations in one transaction: all or nothing, in order (inside another
   * transaction: a savepoint).
   */
  write(ops: KvOp[], ttl?: number): void {
    const expires = ttl ? Date.now() + ttl : null;
    this.run("write", () => this.db.transaction(() => this.runOps(ops, expires))());
  }

  /**
   * Applies operations in the caller's open transaction (`transaction`), without a savepoint of
   * their own: a nested `write` takes one, and SQLite copies every page changed under a savepoint
   * to its sub-journal (an ack batch cost twice as much). A failure here must end the caller's
   * transaction (it is rethrown; the transaction rolls back), never be caught inside it.
   */
  apply(ops: readonly KvOp[]): void {
    if (!this.db.inTransaction) throw new StateError("internal: kv.apply outside a transaction");
    this.run("write", () => this.runOps(ops, null));
  }

  /**
   * Runs of puts go in multi-row statements (one statement per 100 rows costs SQLite and the
   * binding a good part less than 100 statements); a delete ends a run, and a key put twice in one
   * run ends with its later value, as it would one row at a time.
   */
  private runOps(ops: readonly KvOp[], expires: number | null): void {
    let i = 0;
    while (i < ops.length) {
      const op = ops[i]!;
      if ("delete" in op) {
        if (op.through === undefined) this.statements.del.run(op.key);
        else this.statements.delRange.run(op.key, op.through);
        i += 1;
        continue;
      }
      let end = i + 1;
      while (end < ops.length && !("delete" in ops[end]!) && end - i < PUT_CHUNK) end += 1;
      this.putRun(ops as ReadonlyArray<{ key: string; value: string }>, i, end, expires);
      i = end;
    }
  }

  /** Puts `ops[from..to)` (all puts) with as few statements as the chunk sizes allow. */
  private putRun(ops: ReadonlyArray<{ key: string; value: string }>, from: number, to: number, expires: number | null): void {
    let i = from;
    while (i < to) {
      const size = CHUNK_SIZES.find((n) => n <= to - i && n <= PUT_CHUNK)!;
      if (size === 1) {
        this.statements.put.run(ops[i]!.key, ops[i]!.value, expires);
      } else {
        const args: Array<string | number | null> = new Array<string | number | null>(size * 3);
        for (let j = 0; j < size; j += 1) {
          const op = ops[i + j]!;
          args[3 * j] = op.key;
          args[3 * j + 1] = op.value;
          args[3 * j + 2] = expires;
        }
        this.putStatement(size).run(...args);
      }
      i += size;
    }
  }

  private readonly putStatements = new Map<number, Database.Statement<Array<string | number | null>>>();

  private putStatement(count: number): Database.Statement<Array<string | number | null>> {
    const rows = (): string => new Array<string>(count).fill("(?, ?, ?)").join(", ");
    return preparedFor(this.putStatements, count, () =>
      this.db.prepare<Array<string | number | null>>(`INSERT INTO kv (key, value, expires) VALUES ${rows()} ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires`),
    );
  }

  /** Runs `fn` in one transaction (reads see its own writes). */
  transaction<T>(fn: () => T): T {
    return this.run("write", () => this.db.transaction(fn)());
  }

  range(prefix: string): Array<[string, string]> {
    return this.run("read", () => this.statements.range.all(prefix, `${prefix}\uffff`)).map((r) => [r.key, r.value]);
  }

  /** Keys under `prefix` strictly after `after`, ordered, at most `limit`. */
  rangeAfter(prefix: string, after: string, limit: number): Array<[string, string]> {
    const start = after > prefix ? after : prefix;
    const rows =
      after > prefix
        ? this.run("read", () => this.statements.rangeAfter.all(start, `${prefix}\uffff`, limit))
        : this.run("read", () => this.statements.rangeFrom.all(prefix, `${prefix}\uffff`, limit));
    return rows.map((r) => [r.key, r.value]);
  }

  keys(prefix: string): string[] {
    return this.run("read", () => this.statements.keys.all(prefix, `${prefix}\uffff`)).map((r) => r.key);
  }

  count(prefix: string): number {
    return this.run("read", () => this.statements.count.get(prefix, `${prefix}\uffff`))?.n ?? 0;
  }

  lastUnder(prefix: string): [string, string] | undefined {
    const row = this.run("read", () => this.statements.last.get(prefix, `${prefix}\uffff`));
    return row ? [row.key, row.value] : undefined;
  }

  deletePrefix(prefix: string): number {
    return this.run("write", () => this.db.prepare("DELETE FROM kv WHERE key >= ? AND key < ?").run(prefix, `${prefix}\uffff`).changes);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      const wrapped = stateError(`state ${what} failed (${this.file})`, error);
      this.emit("error", wrapped);
      throw wrapped;
    }
  }
}

/** The statement of `cache` for `count` rows, prepared on first use (a few sizes serve every request). */
function preparedFor<S>(cache: Map<number, S>, count: number, prepare: () => S): S {
  let statement = cache.get(count);
  if (statement === undefined) {
    statement = prepare();
    cache.set(count, statement);
  }
  return statement;
}

/**
 * State files of early development builds kept `kv` as a WITHOUT ROWID table: its 1 KB snapshot rows
 * overflowed the b-tree pages (3.5× the file size, 4× slower lookups). Copied into a rowid
 * table in one transaction, so a crash leaves either the old table or the new one.
 */
function migrateWithoutRowid(db: Database.Database): void {
  const row = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'kv'").get() as { sql: string } | undefined;
  if (!row || !/WITHOUT\s+ROWID/i.test(row.sql)) return;
  db.transaction(() => {
    db.exec("CREATE TABLE kv_rowid (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER)");
    db.exec("INSERT INTO kv_rowid (key, value, expires) SELECT key, value, expires FROM kv ORDER BY key");
    db.exec("DROP TABLE kv");
    db.exec("ALTER TABLE kv_rowid RENAME TO kv");
  })();
}

function stateError(context: string, error: unknown): StateError {
  if (error instanceof StateError) return error;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    code === "SQLITE_FULL" || code === "SQLITE_IOERR_SHMSIZE" || code === "SQLITE_IOERR_WRITE" || code === "SQLITE_IOERR_FSYNC" ? " — the disk is full (or failing): free space on the state file's disk"
    : code?.startsWith("SQLITE_IOERR") ? " — disk I/O error: is the disk full or failing?"
    : code === "SQLITE_READONLY" ? " — the state file or its folder is read-only"
    : code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT" ? " — the state file is not a valid SQLite database (corrupted?)"
    : code === "SQLITE_BUSY" ? " — another process holds the state file"
    : "";
  return new StateError(`${context}: ${code ? `${code}: ` : ""}${message}${hint}`);
}
