import { describe, expect, it } from "vitest";
import { fakeRestWithStore, passRunner, restResource, restSource } from "../helpers/pass-harness.js";

/**
 * Found by `npm run chaos` (source faults, "response over max_response_bytes"): the pass must
 * fail naming the limit, not with got's "ERR_CANCELED Promise was canceled".
 */
const t = fakeRestWithStore();

describe("a response over max_response_bytes", () => {
  it("fails the pass with a message that names max_response_bytes", async () => {
    t.api.seed(200);
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [restResource()], { max_response_bytes: 4096 }));
    const outcome = (await run.pass()).outcomes[0]!;
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/response larger than max_response_bytes \(4096\)/);
    expect(outcome.cause).toBe("too-large");
  });
});
