import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { MemoryStateStore } from "../helpers/memory-store.js";
import { MODIFIED_SINCE, fakeRestWithStore, passRunner, restResource, restSource, typesOf } from "../helpers/pass-harness.js";

/**
 * Issue 27, item 2: a vendor that silently caps the page size (config `size: 100`, the vendor
 * answers 50) made the baseline end at the short first page: records 51–60 came later as false
 * `created`, and two reconciles later as false `deleted` (10 of 60 is under the hold thresholds).
 * The cap is now detected (a total-count header that disagrees, or a probe of the next page),
 * the real page size learned; a listing whose completeness stays in doubt confirms no deletion;
 * with a `get`, a 2xx for the record always vetoes its deletion. Failed on 9fd1bfa.
 */
const t = fakeRestWithStore(() => new MemoryStateStore(new ManualClock()));

const cursor = MODIFIED_SINCE;

async function capped(options: { header: boolean; style: "page" | "offset" }) {
  t.api.seed(60);
  t.api.maxPerPage = 50;
  t.api.totalHeader = options.header;
  const pagination = options.style === "page" ? ({ style: "page", page_param: "page", size_param: "per_page", size: 100, first_page: 1 } as const) : ({ style: "offset", offset_param: "offset", limit_param: "limit", size: 100 } as const);
  const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [restResource({ cursor, pagination })]));
  const baseline = await run.pass();
  expect(baseline.outcomes[0]).toMatchObject({ ok: true, baselined: 60, events: 0 });
  // Records 51–60 edited: updates, never `created`.
  run.clock.advance(60_000);
  for (let id = 51; id <= 60; id += 1) t.api.update(id, { status: "sent" });
  const changed = await run.pass();
  expect(typesOf(changed.events)).toEqual(Array.from({ length: 10 }, (_, i) => `item.updated:${51 + i}`));
  for (let i = 0; i < 3; i += 1) expect((await run.pass("reconcile")).events).toEqual([]);
  // A record really deleted still goes, after two complete reconciles.
  t.api.remove(58);
  await run.pass("reconcile");
  expect(typesOf((await run.pass("reconcile")).events)).toEqual(["item.deleted:58"]);
}

describe("a vendor that caps the page size silently", () => {
  it("numbered pages with a total-count header: all 60 records baselined, no false created or deleted", () => capped({ header: true, style: "page" }));
  it("numbered pages without any count: the next page is probed, the cap learned", () => capped({ header: false, style: "page" }));
  it("offset paging without any count: the cap is learned and the offsets follow it", () => capped({ header: false, style: "offset" }));

  it("a listing whose total count disagrees confirms no deletion by absence", async () => {
    t.api.seed(30);
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [restResource({ cursor })]));
    await run.pass();
    t.api.totalSkew = 5;
    t.api.remove(7);
    const first = await run.pass("reconcile");
    expect(first.outcomes[0]!.warnings.join("\n")).toMatch(/total count says 34/);
    expect(typesOf((await run.pass("reconcile")).events)).toEqual([]);
    expect(typesOf((await run.pass("reconcile")).events)).toEqual([]);
    // Once the listing is complete again, the deletion goes through the usual two reconciles.
    t.api.totalSkew = 0;
    await run.pass("reconcile");
    expect(typesOf((await run.pass("reconcile")).events)).toEqual(["item.deleted:7"]);
  });

  it("with a `get`, a 2xx for the missing record vetoes its deletion even when the probe answered 404", async () => {
    t.api.seed(30);
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [restResource({ cursor, get: "/items/{id}" })]));
    await run.pass();
    t.api.hidden.add(7);
    for (let i = 0; i < 3; i += 1) {
      // The probe (the first record listed) answers 404: the template is not trusted to say "gone".
      t.api.injectFault({ fault: { type: "status", status: 404, body: { error: "not found" } }, match: (r) => r.path === "/items/1" });
      expect(typesOf((await run.pass("reconcile")).events)).toEqual([]);
    }
    expect(t.api.requests.filter((r) => r.path === "/items/7").length).toBeGreaterThanOrEqual(3);
  });
});
