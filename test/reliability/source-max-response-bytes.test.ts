import { beforeEach, describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { passRunner, restResource, restSource } from "../helpers/pass-harness.js";
import { closingAfterEach } from "../helpers/closing.js";

/**
 * Found by `npm run chaos` (source faults, "response over max_response_bytes"): the pass must
 * fail naming the limit, not with got's "ERR_CANCELED Promise was canceled".
 */
let api: FakeRest;
let store: StateStore;
const closeLater = closingAfterEach();
beforeEach(async () => {
  api = closeLater(await startFakeRest());
  store = closeLater(await openStateStore("sqlite::memory:"));
});

describe("a response over max_response_bytes", () => {
  it("fails the pass with a message that names max_response_bytes", async () => {
    api.seed(200);
    const run = passRunner(() => store, restSource(api.url, api.token, [restResource()], { max_response_bytes: 4096 }));
    const outcome = (await run.pass()).outcomes[0]!;
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/response larger than max_response_bytes \(4096\)/);
    expect(outcome.cause).toBe("too-large");
  });
});
