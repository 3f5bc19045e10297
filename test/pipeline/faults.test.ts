import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Fault } from "../../src/simulators/kit.js";
import { startFakeServer, type FakeServer } from "../../src/simulators/kit.js";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import { registerSecrets } from "../../src/telemetry/logger.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { MODIFIED_SINCE, passRunner, restResource, restSource } from "../helpers/pass-harness.js";

let api: FakeRest;
let store: StateStore;
let elsewhere: FakeServer;
const elsewhereHits: string[] = [];

beforeEach(async () => {
  api = await startFakeRest();
  store = await openStateStore("sqlite::memory:");
  elsewhere = await startFakeServer((request) => {
    elsewhereHits.push(`${request.path}?${request.query.toString()} ${request.headers.authorization ?? ""}`);
    return { status: 200, body: [] };
  });
});
afterEach(async () => {
  await store.close();
  await api.close();
  await elsewhere.close();
});

const resource = restResource({
  cursor: MODIFIED_SINCE,
  pagination: { style: "page", page_param: "page", size_param: "per_page", size: 10, first_page: 1 },
});

const page2 = (request: { query: URLSearchParams }): boolean => request.query.get("page") === "2";

// [name, fault, expected message, only on page 2, retried inside the pass (so it lasts all attempts)]
const faults: Array<[string, Fault, RegExp, boolean, boolean?]> = [
  ["500 on page 2", { type: "status", status: 500 }, /HTTP 500/, true],
  ["a timeout", { type: "delay", ms: 3000 }, /timed out/, true],
  ["HTML with status 200", { type: "html" }, /expected JSON, got text\/html/, false],
  ["truncated JSON", { type: "truncate" }, /truncated|connection closed/, false, true],
  ["an object where the array belongs", { type: "status", status: 200, body: { items: [] } }, /expected an array of records, got an object/, false],
  ["an empty first page while state holds records", { type: "empty" }, /came back empty while state holds records/, false],
  ["a redirect to another origin", { type: "redirect", location: "" }, /redirect to .* not followed/, false],
];

describe("a source fault in a reconcile pass", () => {
  for (const [name, fault, message, onPage2, retried] of faults) {
    it(`${name}: no deleted event, cursor unchanged, a clear error; the next clean pass recovers`, async () => {
      for (let i = 0; i < 25; i += 1) api.create();
      const config = restSource(api.url, api.token, [resource], { timeout: 1000 });
      const run = passRunner(() => store, config);
      await run.pass();
      const before = await store.getResourceState({ source: "legacy", resource: "items" });
      api.remove(3);
      api.update(4, { name: "changed" });
      const injected = fault.type === "redirect" ? { ...fault, location: `${elsewhere.url}/steal?x=1` } : fault;
      // Retryable faults repeat for every retry attempt of the pass.
      api.injectFault({ fault: injected, match: onPage2 ? page2 : undefined, times: onPage2 || retried ? 5 : 1 });

      const failed = await run.pass("reconcile");
      const outcome = failed.outcomes[0]!;
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(/^source legacy, resource items: /);
      expect(outcome.error).toMatch(message);
      expect(failed.events.filter((e) => e.type.endsWith(".deleted"))).toEqual([]);
      const after = await store.getResourceState({ source: "legacy", resource: "items" });
      expect(after?.cursor).toEqual(before?.cursor);
      expect(after?.lastError?.message).toMatch(message);
      expect(elsewhereHits).toEqual([]);

      api.clearFaults();
      const clean = await run.pass("reconcile");
      expect(clean.outcomes[0]!.ok).toBe(true);
      // Record 3 is missing for the first time in a complete reconcile and there is no GET: it waits.
      const second = await run.pass("reconcile");
      expect([...clean.events, ...second.events].map((e) => `${e.type}:${e.record_id}`)).toEqual(expect.arrayContaining(["item.deleted:3"]));
      expect(run.events.filter((e) => e.type === "item.deleted")).toHaveLength(1);
    });
  }

  it("a pagination loop fails the pass", async () => {
    for (let i = 0; i < 25; i += 1) api.create();
    const run = passRunner(() => store, restSource(api.url, api.token, [restResource({ path: "/wrapped", records: "data", pagination: { style: "next", next: "links.next" } })]));
    await run.pass();
    api.injectFault({ fault: { type: "status", status: 200, body: { data: [{ id: 1 }], links: { next: "/wrapped?cursor=0" } } }, times: 3 });
    const failed = await run.pass("reconcile");
    expect(failed.outcomes[0]!.error).toMatch(/pagination loop/);
    expect(failed.events.filter((e) => e.type.endsWith("deleted"))).toEqual([]);
  });

  it("a next link to another origin is an error and the credential never reaches it", async () => {
    api.create();
    const run = passRunner(() => store, restSource(api.url, api.token, [restResource({ path: "/wrapped", records: "data", pagination: { style: "next", next: "links.next" } })]));
    api.injectFault({ fault: { type: "status", status: 200, body: { data: [{ id: 1 }], links: { next: `${elsewhere.url}/wrapped?cursor=1` } } } });
    const failed = await run.pass();
    expect(failed.outcomes[0]!.error).toMatch(/another origin/);
    expect(elsewhereHits).toEqual([]);
  });

  it("a vendor error quoting a registered secret is kept scrubbed, even where the body is clipped", async () => {
    const secret = "QUOTEDtok3nInAnErrorBody";
    registerSecrets([secret]);
    api.create();
    const run = passRunner(() => store, restSource(api.url, api.token, [resource]));
    await run.pass();
    // The secret starts just before the 160 characters of body kept in the message.
    api.injectFault({ fault: { type: "status", status: 500, body: { error: `${"x".repeat(130)} token ${secret} refused` } }, times: 5 });
    const failed = await run.pass();
    const after = await store.getResourceState({ source: "legacy", resource: "items" });
    expect(after?.lastError?.message).toMatch(/HTTP 500: \{"error":"x+ token \*\*\*/);
    for (const text of [failed.outcomes[0]!.error, after?.lastError?.message]) expect(text).not.toContain(secret.slice(0, 6));
  });

  it("a 401 suspends the source and a 403 the resource, persisted", async () => {
    api.create();
    const config = restSource(api.url, api.token, [resource, restResource({ name: "others", path: "/items" })]);
    const run = passRunner(() => store, config);
    await run.pass();
    api.injectFault({ fault: { type: "status", status: 403 }, match: () => true });
    const forbidden = await run.pass();
    expect(forbidden.outcomes.map((o) => o.ok)).toEqual([false, true]);
    const requests = api.requests.length;
    const again = await run.pass();
    expect(again.outcomes[0]).toMatchObject({ ok: false, blocked: true });
    expect(again.outcomes[0]!.error).toMatch(/resource suspended/);
    expect(api.requests.length).toBe(requests + 1); // only "others" asked

    const wrongToken = restSource(api.url, "wrong", [resource, restResource({ name: "others", path: "/items" })]);
    const bad = await passRunner(() => store, wrongToken).pass();
    expect(bad.outcomes.map((o) => o.ok)).toEqual([false, false]);
    expect(bad.outcomes[0]!.error).toMatch(/401/);
    const count = api.requests.length;
    const blocked = await passRunner(() => store, wrongToken).pass();
    expect(blocked.outcomes.every((o) => o.blocked)).toBe(true);
    expect(api.requests.length).toBe(count);
    // A config change (the right token again) lifts the source suspension.
    expect((await run.pass()).outcomes[1]!.ok).toBe(true);
  });
});
