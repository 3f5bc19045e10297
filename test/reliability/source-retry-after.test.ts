import { describe, expect, it } from "vitest";
import { MODIFIED_SINCE, fakeRestWithStore, passRunner, restResource, restSource } from "../helpers/pass-harness.js";

/**
 * Found by `npm run chaos` (source faults, "HTTP 429 with Retry-After: 600"): a Retry-After
 * longer than a pass may wait must keep the source quiet that long, across passes (a
 * vendor's "wait N minutes" answer backs off at least that long: README, Troubleshooting).
 */
const t = fakeRestWithStore();

const resource = restResource({ cursor: MODIFIED_SINCE });

describe("a long Retry-After from a source", () => {
  for (const status of [429, 503]) {
    it(`HTTP ${status} with Retry-After: 600 keeps the source quiet for 600 s`, async () => {
      for (let i = 0; i < 3; i += 1) t.api.create();
      const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource]));
      await run.pass();
      t.api.injectFault({ fault: { type: "status", status, headers: { "retry-after": "600" } }, times: 1 });
      const failed = await run.pass();
      expect(failed.outcomes[0]!.ok).toBe(false);
      const asked = t.api.listRequests();

      const next = await run.pass();
      expect(next.outcomes[0]!.blocked, next.outcomes[0]!.error).toBe(true);
      expect(next.outcomes[0]!.error).toMatch(/backing off until/);
      expect(t.api.listRequests()).toBe(asked);

      run.clock.advance(601_000);
      expect((await run.pass()).outcomes[0]!.ok).toBe(true);
    });
  }
});
