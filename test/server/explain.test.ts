import { afterEach, describe, expect, it } from "vitest";
import type { FakeRest } from "../helpers/fake-rest.js";
import type { Receiver } from "../helpers/receiver.js";
import { paidThenRenamed, seenThenNotListed, startExplainRun, type ExplainRunOptions, type Scenario } from "./explain-scenario.js";

/**
 * `explain` on scripted runs (fake vendor, fake clock): each "why not" reason, in the view
 * `--json` prints and in the text people read.
 */

let api: FakeRest | undefined;
let receiver: Receiver | undefined;
let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.close();
  await api?.close();
  await receiver?.close();
  scenario = api = receiver = undefined;
});

async function start(extra: ExplainRunOptions = {}, seed = 3): Promise<{ api: FakeRest; s: Scenario }> {
  const run = await startExplainRun(extra, seed);
  api = run.api;
  receiver = run.receiver;
  scenario = run.s;
  return run;
}

describe("retrohook explain", () => {
  it("a baselined record: no created because of the silent baseline", async () => {
    const { s } = await start();
    await s.pass();
    const { view, text, reasons } = await s.explain("legacy/items/2");
    expect(view.record).toMatchObject({ state: "live", version: 1 });
    expect(reasons).toContain("baseline");
    expect(view.whyNot.find((w) => w.reason === "baseline")!.text).toMatch(/already existed at the resource's first pass \(2026-11-23T10:00:30\.000Z\).*start: baseline/);
    expect(text).toMatch(/pass incremental \(complete listing, first pass \(baseline\)\)/);
    expect(text).toMatch(/- \[baseline\] no created: the record already existed/);
  });

  it("an update fires updated and paid, routed to one target and not the other, with each attempt; paid again is 'already true'", async () => {
    const run = await start();
    const { view, text, reasons } = await run.s.explain(await paidThenRenamed(run));
    const types = view.events.map((e) => e.type);
    expect(types).toEqual(["item.updated", "item.paid", "item.updated"]);
    const [updated, paid, renamed] = view.events;
    expect(updated!.changes).toEqual([{ field: "status", before: "issued", after: "paid" }]);
    expect(paid!.why).toMatch(/^paid: rule "paid" became true \(status: "issued" → "paid"\)/);
    expect(updated!.routing).toEqual([
      { target: "erp", routed: true, why: "routed" },
      { target: "crm", routed: false, why: "not routed: the target's events (item.created, item.deleted) do not match item.updated" },
    ]);
    expect(updated!.attempts).toMatchObject([{ target: "erp", attempt: 1, outcome: "delivered", status: 200 }]);
    expect(renamed!.notFired).toMatchObject([{ event: "paid", verdict: "already-true" }]);
    expect(reasons).toEqual(expect.arrayContaining(["transition-already-true", "not-routed"]));
    expect(text).toMatch(/status: "issued" → "paid"/);
    expect(text).toMatch(/→ erp: routed\n\s+\S+ attempt 1: delivered HTTP 200/);
    expect(text).toMatch(/→ crm: not routed: the target's events \(item\.created, item\.deleted\) do not match item\.updated/);
    expect(text).toMatch(/not fired: paid did not fire: it was already true before this change \(status = "paid"\)/);
    expect(text).toMatch(/- \[transition-already-true\]/);
  });

  it("a change of ignored fields only: no event, and the pass that saw it says which fields", async () => {
    const { api: vendor, s } = await start();
    await s.pass();
    vendor.update(3, { touched_at: "2026-11-23T10:05:00Z" });
    await s.pass();
    const { view, text, reasons } = await s.explain("legacy/items/3");
    expect(view.events).toEqual([]);
    expect(reasons).toContain("ignored-fields");
    expect(view.whyNot.find((w) => w.reason === "ignored-fields")!.text).toMatch(/only ignore_fields changed \(modified_at, touched_at\): no event/);
    expect(text).toMatch(/pass incremental \(listed it\); only ignore_fields changed: modified_at, touched_at/);
  });

  it("seen again without a change ('unchanged'), and not listed by later incremental passes ('not seen since')", async () => {
    const run = await start();
    const three = await run.s.explain(await seenThenNotListed(run));
    expect(three.reasons).toEqual(expect.arrayContaining(["unchanged", "not-seen-since"]));
    expect(three.view.whyNot.find((w) => w.reason === "unchanged")!.text).toMatch(/^2 passes saw it since its last event \(2026-11-23T10:01:30\.000Z\), the last at 2026-11-23T10:03:30\.000Z, and found the same text or the same fingerprint/);
    expect(three.view.whyNot.find((w) => w.reason === "not-seen-since")!.text).toMatch(/the 2 passes after it did not list it.*the next reconcile \(0 \*\/6 \* \* \*\) compares every record/);
    expect(three.text).toMatch(/- \[unchanged\] 2 passes saw it/);
    expect(three.text).toMatch(/- \[not-seen-since\] not seen since/);
  });

  it("a deletion awaiting confirmation, then deleted by the second reconcile", async () => {
    const { api: vendor, s } = await start();
    await s.pass();
    vendor.remove(2);
    await s.pass("reconcile");
    const waiting = await s.explain("legacy/items/2");
    expect(waiting.reasons).toContain("deletion-awaiting-confirmation");
    expect(waiting.text).toMatch(/- \[deletion-awaiting-confirmation\] missing from the reconcile at .*deleted only when the next reconcile misses it too/);
    await s.pass("reconcile");
    const gone = await s.explain("legacy/items/2");
    expect(gone.view.record.state).toBe("deleted");
    expect(gone.reasons).not.toContain("deletion-awaiting-confirmation");
    expect(gone.view.events.map((e) => e.type)).toEqual(["item.deleted"]);
    expect(gone.text).toMatch(/event item\.deleted .*\n\s+why: deleted: missing from a complete listing and confirmed gone/);
  });

  it("deletions held by the mass-deletion guard say how to release them", async () => {
    const { api: vendor, s } = await start({ resource: "max_delete_min: 1\n        max_delete_ratio: 0.5" }, 4);
    await s.pass();
    for (const id of [1, 2, 3]) vendor.remove(id);
    await s.pass("reconcile");
    const { text, reasons } = await s.explain("legacy/items/1");
    expect(reasons).toContain("deletion-held");
    expect(text).toMatch(/- \[deletion-held\] its deletion is held by the mass-deletion guard since .*`retrohook reset --source legacy --resource items --accept-deletes`/);
  });

  it("a suspended source names the command that lifts the suspension", async () => {
    const { s } = await start();
    await s.pass();
    // The vendor now refuses the key: the source is suspended.
    api!.injectFault({ fault: { type: "status", status: 401, body: { error: "unauthorized" } }, times: 5 });
    await s.pass();
    const { text, reasons, view } = await s.explain("legacy/items/1");
    expect(reasons).toContain("source-suspended");
    expect(view.timeline.some((item) => item.kind === "pass" && !item.ok)).toBe(false);
    expect(text).toMatch(/- \[source-suspended\] the source is suspended since .*HTTP 401.*`retrohook resume --source legacy`/);
  });

  it("a spent request budget says no pass runs until the next period", async () => {
    const { s } = await start({ source: "budget: { requests: 3, per: day }" });
    await s.pass();
    const gate = s.budgets.get("legacy")!;
    for (let i = 0; i < 5; i++) await gate.spend().catch(() => undefined);
    const { text, reasons } = await s.explain("legacy/items/1");
    expect(reasons).toContain("out-of-budget");
    expect(text).toMatch(/- \[out-of-budget\] the request budget \(3 per day\) is spent for 2026-11-23: no pass runs until the next period/);
  });

  it("a record no pass has listed says so", async () => {
    const { s } = await start();
    await s.pass();
    const { view, text, reasons } = await s.explain("legacy/items/999");
    expect(view.record.state).toBe("unknown");
    expect(reasons).toEqual(["unknown-record"]);
    expect(text).toMatch(/legacy\/items\/999 — not in state/);
  });
});
