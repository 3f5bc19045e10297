import { describe, expect, it } from "vitest";
import { explainRecordAt } from "../../src/server/explain.js";
import { collectStatus } from "../../src/server/read-model.js";
import type { Config } from "../../src/config/types.js";
import { ManualClock } from "../../src/clock.js";
import { MemoryStateStore } from "../helpers/memory-store.js";
import { MODIFIED_SINCE, fakeRestWithStore, passRunner, restResource, restSource, typesOf } from "../helpers/pass-harness.js";

/**
 * Issue 27, item 1: a `rest` source with `start: baseline` and 250 records whose first pass
 * gets HTTP 200 `[]` (a key without data access, a wrong filter, a short outage) must not take
 * that empty listing as its baseline: the first pass that sees records is the silent one.
 * Failed on e0998cc (250 `created` events on the second pass).
 */
const t = fakeRestWithStore(() => new MemoryStateStore(new ManualClock()));

const resource = restResource({ cursor: MODIFIED_SINCE, get: "/items/{id}" });

describe("an empty first pass", () => {
  it("is not the baseline: the first pass that sees records is, silently; status says the resource waits", async () => {
    t.api.seed(250);
    const config = restSource(t.api.url, t.api.token, [resource]);
    const run = passRunner(() => t.store, config);
    t.api.injectFault({ fault: { type: "status", status: 200, body: [] }, match: (r) => r.path === "/items" });
    const empty = await run.pass();
    expect(empty.outcomes[0]).toMatchObject({ ok: true, records: 0, events: 0 });
    const state = await t.store.getResourceState({ source: "legacy", resource: "items" });
    expect(state?.initialized).toBe(false);
    const status = await collectStatus({ config: { sources: [config], targets: [] } as unknown as Config, store: t.store, now: Date.now() });
    const view = status.sources[0]!.resources[0]!;
    expect(view.waiting).toMatch(/first non-empty listing/);

    const second = await run.pass();
    expect(typesOf(second.events)).toEqual([]);
    expect(second.outcomes[0]).toMatchObject({ ok: true, baselined: 250, events: 0 });
    expect((await t.store.getResourceState({ source: "legacy", resource: "items" }))?.initialized).toBe(true);

    // From then on changes are events, as ever.
    t.api.update(3, { status: "paid" });
    const third = await run.pass();
    expect(typesOf(third.events)).toEqual(["item.updated:3"]);
    expect(typesOf(run.events).filter((t) => t.startsWith("item.created"))).toEqual([]);
  });

  it("an incremental pass while waiting still lists completely (an empty first listing leaves no cursor to ask from)", async () => {
    const config = restSource(t.api.url, t.api.token, [resource]);
    const run = passRunner(() => t.store, config);
    expect((await run.pass()).outcomes[0]).toMatchObject({ ok: true, records: 0 });
    t.api.seed(30);
    const second = await run.pass();
    expect(second.outcomes[0]).toMatchObject({ ok: true, baselined: 30, events: 0 });
    expect(t.api.requests.at(-1)!.query).not.toContain("modified_since");
  });
});

describe("an empty first pass in the pass journal", () => {
  it("is journaled (explain lists it) and is not taken for the baseline pass", async () => {
    const config = restSource(t.api.url, t.api.token, [resource]);
    const run = passRunner(() => t.store, config);
    expect((await run.pass()).outcomes[0]).toMatchObject({ ok: true, records: 0 });
    const id = { source: "legacy", resource: "items" };
    const first = await t.store.listPasses(id);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ firstRun: true, ok: true, records: 0, awaiting: true });
    const waiting = await explainRecordAt({ config: { sources: [config], targets: [] } as unknown as Config, store: t.store, now: Date.now() }, { source: "legacy", resource: "items", id: "1" });
    expect(waiting.journal.passes).toBe(1);
    expect(waiting.whyNot.map((w) => w.text).join("\n")).toMatch(/come back empty since .*no baseline is recorded/);

    t.api.seed(3);
    run.clock.advance(60_000);
    await run.pass();
    const passes = await t.store.listPasses(id);
    expect(passes.map((p) => Boolean(p.awaiting))).toEqual([true, false]);
    const view = await explainRecordAt({ config: { sources: [config], targets: [] } as unknown as Config, store: t.store, now: Date.now() }, { source: "legacy", resource: "items", id: "1" });
    const baseline = view.whyNot.find((w) => w.reason === "baseline");
    // The baseline is the pass that saw records, not the empty one before it.
    expect(baseline?.text).toContain(passes[1]!.at);
    expect(baseline?.text).not.toContain(passes[0]!.at);
  });
});
