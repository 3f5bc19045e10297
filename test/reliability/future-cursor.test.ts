import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { startWfirmaFake } from "../fakes/wfirma/fake.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { MemoryStateStore } from "../helpers/memory-store.js";
import { MODIFIED_SINCE, passRunner, restResource, restSource, typesOf } from "../helpers/pass-harness.js";
import { closingAfterEach } from "../helpers/closing.js";
import { runner, summary, wfirmaConfig } from "../sources/presets/wfirma/harness.js";

/**
 * Issue 27, item 4: one record stamped `2099-01-01` must not freeze the cursor in the future
 * (every later incremental pass would ask for changes since 2098 and miss every edit until a
 * reconcile). The cursor is capped at the pass's start plus a tolerance, the record is warned
 * about, and a cursor already stuck in the future recovers. Failed on e0998cc (the edit after
 * the future stamp was not reported by the incremental pass; the stuck cursor stayed).
 */
const FUTURE = "2099-01-01T00:00:00Z";
const closeLater = closingAfterEach();

/** The fake `rest` vendor with five records, a pass runner on a fresh store, and its first pass done. */
async function afterFirstPass(): Promise<{ api: FakeRest; store: MemoryStateStore; run: ReturnType<typeof passRunner> }> {
  const api = closeLater(await startFakeRest());
  api.seed(5);
  const clock = new ManualClock(undefined, { autoAdvance: true });
  const store = new MemoryStateStore(clock);
  const run = passRunner(() => store, restSource(api.url, api.token, [restResource({ cursor: MODIFIED_SINCE })]), clock);
  await run.pass();
  return { api, store, run };
}

describe("a record stamped in the future", () => {
  it("rest (cursor parameter): the cursor stays at the pass's start, later edits still arrive by incremental passes, the record is warned about", async () => {
    const { api, store, run } = await afterFirstPass();
    api.items.set(2, { ...api.items.get(2)!, name: "time traveller", modified_at: FUTURE });
    run.clock.advance(60_000);
    const first = await run.pass();
    expect(typesOf(first.events)).toEqual(["item.updated:2"]);
    expect(first.outcomes[0]!.warnings.join("\n")).toMatch(/record 2 .*future/);
    const cursor = (await store.getResourceState({ source: "legacy", resource: "items" }))!.cursor as number;
    expect(cursor).toBeLessThanOrEqual(run.clock.now() + 60_000);

    run.clock.advance(60_000);
    api.tick(120_000);
    api.update(3, { status: "paid" });
    expect(typesOf((await run.pass()).events)).toEqual(["item.updated:3"]);
  });

  it("rest: a cursor already stuck in the future recovers (the pass lists completely once, then asks from now on)", async () => {
    const { api, store, run } = await afterFirstPass();
    const id = { source: "legacy", resource: "items" };
    await store.putResourceState(id, { ...(await store.getResourceState(id))!, cursor: Date.parse(FUTURE) });
    api.tick(60_000);
    api.update(4, { name: "edited while stuck" });
    run.clock.advance(120_000);
    const recovered = await run.pass();
    expect(typesOf(recovered.events)).toEqual(["item.updated:4"]);
    expect(recovered.outcomes[0]!.warnings.join("\n")).toMatch(/cursor .*future/);
    expect((await store.getResourceState(id))!.cursor as number).toBeLessThanOrEqual(run.clock.now() + 60_000);
  });

  it("wFirma: the module's cursor stays at the pass's start; a later edit arrives by the next incremental pass", async () => {
    const clock = new ManualClock(Date.parse("2026-11-23T10:00:00Z"), { autoAdvance: true });
    const wfirma = closeLater(await startWfirmaFake({ now: () => clock.now() }));
    const run = runner(wfirmaConfig(wfirma.url, ["cost_invoices"]), { clock });
    const traveller = wfirma.create("expenses");
    const other = wfirma.create("expenses");
    await run.pass();
    clock.advance(60_000);
    wfirma.update("expenses", String(traveller.id), { description: "future", modified: "2099-01-01 00:00:00" });
    const first = await run.pass();
    expect(summary(first.events)).toEqual([`cost_invoice.updated:${traveller.id}`]);
    expect(first.outcomes[0]!.warnings.join("\n")).toMatch(new RegExp(`record ${traveller.id} .*future`));
    clock.advance(120_000);
    wfirma.update("expenses", String(other.id), { description: "edited later" });
    clock.advance(60_000);
    expect(summary((await run.pass()).events)).toEqual([`cost_invoice.updated:${other.id}`]);
    run.close();
  });
});
