import type { Clock } from "../clock.js";
import { openPostgresStore } from "./postgres/open.js";
import { openSqliteStore } from "./sqlite/open.js";
import type { StateStore } from "./store.js";
import { stateBackend } from "./url.js";

export interface OpenOptions {
  /** Never change the state: writes vanish on close (a dry run). */
  readOnly?: boolean;
  clock?: Clock;
  /** Delivery log entries kept per target (default 1,000). */
  logLimit?: number;
}

/** Opens the state named by `state.url`; the URL's scheme picks the backend (src/store/<backend>/). */
export async function openStateStore(url: string, options: OpenOptions = {}): Promise<StateStore> {
  return stateBackend(url) === "postgres" ? openPostgresStore(url, options) : openSqliteStore(url, options);
}
