import { afterEach, beforeEach } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { openStateStore } from "../../src/store/open.js";
import { startFakeRest, type FakeRest } from "./fake-rest.js";
import { loadedRestResource, loadedSource } from "./source-config.js";
import type { RestResourceConfig, RestSourceConfig } from "../../src/config/types.js";
import type { EventEnvelope } from "../../src/core/types.js";
import { runSourcePass, type PassMode, type PassOutcome } from "../../src/pipeline/poll-pass.js";
import { createSource } from "../../src/sources/registry.js";
import type { StateStore } from "../../src/store/store.js";
import { silentLogger, type Logger } from "../../src/telemetry/logger.js";

/** The `items` resource of test/helpers/fake-rest.ts (numbered pages of 100), as the loader makes it. */
export function restResource(overrides: Partial<RestResourceConfig> = {}): RestResourceConfig {
  return loadedRestResource({ name: "items", type_prefix: "item", path: "/items", pagination: { style: "page", size_param: "per_page" } }, overrides);
}

/** A `type: rest` source with a bearer token and a 2 s timeout, as the loader makes it. */
export function restSource(baseUrl: string, token: string, resources: RestResourceConfig[], overrides: Partial<RestSourceConfig> = {}): RestSourceConfig {
  return loadedSource<RestSourceConfig>(
    { name: "legacy", type: "rest", base_url: baseUrl, headers: { Authorization: `Bearer ${token}` }, timeout: "2s", resources: [{ name: "items", path: "/items" }] },
    { resources, ...overrides },
  );
}

/** Runs passes of one source against a store, collecting every event written to the outbox. */
export function passRunner(store: () => StateStore, config: RestSourceConfig, clock = new ManualClock(undefined, { autoAdvance: true }), logger: Logger = silentLogger()) {
  const events: EventEnvelope[] = [];
  return {
    events,
    clock,
    async pass(mode: PassMode = "incremental"): Promise<{ outcomes: PassOutcome[]; events: EventEnvelope[] }> {
      const source = createSource(config, { clock, logger });
      const fresh: EventEnvelope[] = [];
      try {
        const outcomes = await runSourcePass(
          { store: store(), clock, logger, route: () => ["t"], onEvents: (e) => fresh.push(...e) },
          source,
          config,
          mode,
        );
        events.push(...fresh);
        return { outcomes, events: fresh };
      } finally {
        source.close();
      }
    },
  };
}

export const typesOf = (events: EventEnvelope[]): string[] => events.map((e) => `${e.type}:${e.record_id}`);

/** The fake vendor's `modified_at` as an ISO-time cursor sent as `modified_since`. */
export const MODIFIED_SINCE = { field: "modified_at", param: "modified_since", type: "time", format: "iso" } as const;

/**
 * A fresh fake `rest` vendor and a fresh state store (by default an in-memory SQLite) for each
 * test of the calling file (registers its own beforeEach/afterEach); read `api` and `store`
 * inside tests.
 */
export function fakeRestWithStore(): { readonly api: FakeRest; readonly store: StateStore };
export function fakeRestWithStore<S extends StateStore>(openStore: () => S | Promise<S>): { readonly api: FakeRest; readonly store: S };
export function fakeRestWithStore(openStore: () => StateStore | Promise<StateStore> = () => openStateStore("sqlite::memory:")): { readonly api: FakeRest; readonly store: StateStore } {
  let api: FakeRest | undefined;
  let store: StateStore | undefined;
  beforeEach(async () => {
    api = await startFakeRest();
    store = await openStore();
  });
  afterEach(async () => {
    await store?.close();
    await api?.close();
    api = store = undefined;
  });
  return {
    get api() {
      return api!;
    },
    get store() {
      return store!;
    },
  };
}
