import type { OpenOptions } from "../../../src/store/open.js";
import type { StateStore } from "../../../src/store/store.js";
import type { EnqueueItem } from "../../../src/store/store.js";
import { openStateStore } from "../../../src/store/open.js";

/**
 * What the contract suite needs from a backend: a fresh, empty state location per test (its
 * `state.url`). Stores are opened through `openStateStore`, as the daemon does, so a test can
 * close and reopen one.
 */
export interface ContractBackend {
  name: string;
  freshUrl(): Promise<string>;
  /** Makes the state at `url` refuse (fail the write of) any delivery log entry containing `marker`. */
  refuseLogEntries(url: string, marker: string): Promise<void>;
}

export interface Opened {
  url: string;
  store: StateStore;
  reopen(options?: OpenOptions): Promise<StateStore>;
}

/** Opens a fresh store of `backend`; `reopen` closes nothing (the caller closes what it opened). */
export async function openFresh(backend: ContractBackend, options: OpenOptions = {}): Promise<Opened> {
  const url = await backend.freshUrl();
  const store = await openStateStore(url, options);
  return { url, store, reopen: (again = options) => openStateStore(url, again) };
}

export function item(id: string, recordKey: string, targets: string[]): EnqueueItem {
  const envelope = { id, type: "invoice.created", source: "s", resource: "invoices", kind: null, record_id: "1", detected_at: "2026-11-23T10:00:00.000Z", data: { object: {} } };
  return { event: { envelope, body: JSON.stringify(envelope) }, recordKey, targets };
}

export const logEntry = (target: string, eventId: string, outcome: "delivered" | "dead" | "retry" | "failed" = "delivered") => ({
  at: "2026-11-23T10:00:00.000Z",
  target,
  eventId,
  eventType: "invoice.created",
  recordKey: "r1",
  attempt: 1,
  outcome,
  status: outcome === "delivered" ? 200 : 400,
  latencyMs: 3,
});

/** A fixed clock (ms since epoch). */
export const fixedClock = (at: number) => ({ now: () => at, sleep: async () => {} });
