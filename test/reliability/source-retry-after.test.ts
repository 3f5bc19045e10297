import { beforeEach, describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { passRunner, restResource, restSource } from "../helpers/pass-harness.js";
import { closingAfterEach } from "../helpers/closing.js";

/**
 * Found by `npm run chaos` (source faults, "HTTP 429 with Retry-After: 600"): a Retry-After
 * longer than a pass may wait must keep the source quiet that long, across passes (DESIGN:
 * "a vendor 'wait N minutes' answer backs off at least that long").
 */
let api: FakeRest;
let store: StateStore;
const closeLater = closingAfterEach();
beforeEach(async () => {
  api = closeLater(await startFakeRest());
  store = closeLater(await openStateStore("sqlite::memory:"));
});

const resource = restResource({ cursor: { field: "modified_at", param: "modified_since", type: "time", format: "iso" } });

describe("a long Retry-After from a source", () => {
  for (const status of [429, 503]) {
    it(`HTTP ${status} with Retry-After: 600 keeps the source quiet for 600 s`, async () => {
      for (let i = 0; i < 3; i += 1) api.create();
      const run = passRunner(() => store, restSource(api.url, api.token, [resource]));
      await run.pass();
      api.injectFault({ fault: { type: "status", status, headers: { "retry-after": "600" } }, times: 1 });
      const failed = await run.pass();
      expect(failed.outcomes[0]!.ok).toBe(false);
      const asked = api.listRequests();

      const next = await run.pass();
      expect(next.outcomes[0]!.blocked, next.outcomes[0]!.error).toBe(true);
      expect(next.outcomes[0]!.error).toMatch(/backing off until/);
      expect(api.listRequests()).toBe(asked);

      run.clock.advance(601_000);
      expect((await run.pass()).outcomes[0]!.ok).toBe(true);
    });
  }
});
