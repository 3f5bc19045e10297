import { existsSync } from "node:fs";
import type { Clock } from "../clock.js";
import { StateError } from "../errors.js";
import { openSqliteStore, sqlitePathFromUrl, sqliteStateHeld } from "./sqlite/open.js";
import type { StateStore } from "./store.js";
import { stateBackend } from "./url.js";

export interface OpenOptions {
  /** Never change the state: writes vanish on close (a dry run). */
  readOnly?: boolean;
  clock?: Clock;
  /** Delivery log entries kept per target (default 1,000). */
  logLimit?: number;
  /** One of several replicas (PostgreSQL only): the schema's lock is shared, `cluster` is set. */
  replica?: boolean;
  /**
   * Replicas: the lease (ms). A transaction of this process left idle longer than that — the
   * process paused in the middle of it — is ended by the database, so its locks (a lease row
   * held by a fenced write) cannot hold the other replicas up past the lease.
   */
  leaseMs?: number;
  /**
   * Replicas: this replica's id, its connections' `application_name` — a replica that finds a
   * paused one's transaction holding an expired lease row ends that transaction (postgres/cluster.ts).
   */
  replicaId?: string;
}

/**
 * The PostgreSQL backend, loaded on first use: a SQLite installation never loads `pg` (about
 * 16 MB of memory for nothing).
 */
const postgres = (): Promise<typeof import("./postgres/open.js")> => import("./postgres/open.js");

/** Opens the state named by `state.url`; the URL's scheme picks the backend (src/store/<backend>/). */
export async function openStateStore(url: string, options: OpenOptions = {}): Promise<StateStore> {
  if (stateBackend(url) === "postgres") return (await postgres()).openPostgresStore(url, options);
  if (options.replica) throw new StateError("replicas (`cluster`) need PostgreSQL state: SQLite state is one process per file");
  return openSqliteStore(url, options);
}

/** A note when the state was never created (a SQLite file not there yet); undefined otherwise. */
export function stateNotCreated(url: string): string | undefined {
  if (stateBackend(url) !== "sqlite") return undefined;
  const file = sqlitePathFromUrl(url);
  return file !== ":memory:" && !existsSync(file) ? `no state file at ${file}` : undefined;
}

/** Whether a running retrohook holds the state (then the CLI asks its admin API). */
export async function stateHeld(url: string): Promise<boolean> {
  return stateBackend(url) === "postgres" ? (await postgres()).postgresStateHeld(url) : sqliteStateHeld(url);
}
