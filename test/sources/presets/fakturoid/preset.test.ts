import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../src/clock.js";
import type { FakturoidSourceConfig } from "../../../../src/sources/presets/fakturoid/config.js";
import type { Snapshot } from "../../../../src/core/types.js";
import { createSource } from "../../../../src/sources/registry.js";
import { startFakturoidFake, type FakturoidFake, type FakturoidFakeOptions } from "../../../fakes/fakturoid/fake.js";
import { fakturoidIdlePassCost } from "../../../../src/sources/presets/fakturoid/index.js";
import { silentLogger } from "../../../../src/telemetry/logger.js";
import { beforeServing, fakturoidConfig, runner, summary } from "./harness.js";
import { readsOfReconcileAfter } from "../../../helpers/snapshot-reads.js";
import { closingAfterEach } from "../../../helpers/closing.js";

const ALL = ["invoices", "cost_invoices", "clients", "products", "warehouse_documents"];

const closeLater = closingAfterEach();

async function setup(resources = ALL, overrides: Partial<FakturoidSourceConfig> = {}, fakeOptions: FakturoidFakeOptions = {}) {
  const clock = new ManualClock(Date.parse("2026-11-23T10:00:00Z"), { autoAdvance: true });
  const fake = closeLater(await startFakturoidFake({ now: () => clock.now(), ...fakeOptions }));
  const config = fakturoidConfig(fake.url, resources, overrides);
  const run = closeLater(runner(config, { clock }));
  return { fake, run, clock, config };
}

const num = (value: unknown): number => Number(value);
const statuses = (f: FakturoidFake) => f.requests.map((r) => r.status);

describe("fakturoid preset", () => {
  it("takes the page size from the responses: pages of 50 (not the documented 40) end at the short page, and an empty page ends a walk", async () => {
    const { fake, run, clock } = await setup(["clients"], {}, { pageSize: 50 });
    for (let i = 0; i < 95; i += 1) fake.create("subjects");
    const pagesAsked = (page: number) => fake.requests.filter((r) => r.path === "/api/v3/accounts/acme/subjects.json" && new URLSearchParams(r.query).get("page") === String(page)).length;
    const first = await run.pass();
    expect(first.outcomes.every((o) => o.ok)).toBe(true);
    expect(first.outcomes[0]!.baselined).toBe(95);
    // Pages of 50 and 45: 45 is short for pages of 50, so page 3 is never asked for.
    expect(pagesAsked(2)).toBeGreaterThan(0);
    expect(pagesAsked(3)).toBe(0);

    // 100 changed: pages of 50, 50, then an empty page ends the walk.
    clock.advance(60_000);
    for (let i = 0; i < 5; i += 1) fake.create("subjects");
    const edited = fake.all("subjects").slice(0, 95).map((row) => String(row.id));
    for (const id of edited) fake.update("subjects", Number(id), { name: `renamed ${id}` });
    clock.advance(60_000);
    const second = await run.pass();
    expect(second.outcomes[0]!.ok).toBe(true);
    expect(second.events).toHaveLength(100);
    expect(pagesAsked(3)).toBeGreaterThan(0);
    expect(pagesAsked(4)).toBe(0);
  });


  it("a new expense, an invoice paid, an inventory move and a deleted subject each yield exactly their events", async () => {
    const { fake, run, clock } = await setup();
    const subject = fake.create("subjects");
    fake.create("subjects");
    const invoice = fake.create("invoices");
    const item = fake.create("inventory_items");
    const first = await run.pass();
    expect(first.outcomes.every((o) => o.ok)).toBe(true);
    expect(first.events).toEqual([]);

    clock.advance(60_000);
    const expense = fake.create("expenses");
    fake.addPayment("invoices", num(invoice.id));
    const move = fake.create("inventory_moves", { inventory_item_id: item.id, direction: "in", quantity_change: "5.0" });
    fake.remove("subjects", num(subject.id));
    clock.advance(60_000);
    const second = await run.pass();
    expect(second.outcomes.every((o) => o.ok)).toBe(true);
    expect(summary(second.events)).toEqual([`cost_invoice.created:${expense.id}`, `invoice.paid:${invoice.id}`, `invoice.updated:${invoice.id}`, `warehouse_document.created:${move.id}`]);
    const paid = second.events.find((e) => e.type === "invoice.paid")!;
    expect(paid.data.previous).toMatchObject({ status: "open", paid_on: null });

    const reconcile = await run.pass("reconcile");
    expect(summary(reconcile.events)).toEqual([`client.deleted:${subject.id}`]);
    expect(fake.requests.some((r) => r.path === `/api/v3/accounts/acme/subjects/${subject.id}.json` && r.status === 404)).toBe(true);
  });

  it("overdue fires when status becomes overdue; expenses get paid too", async () => {
    const { fake, run, clock } = await setup(["invoices", "cost_invoices"]);
    const invoice = fake.create("invoices");
    const expense = fake.create("expenses");
    await run.pass();
    clock.advance(60_000);
    fake.update("invoices", num(invoice.id), { status: "overdue" });
    fake.addPayment("expenses", num(expense.id));
    expect(summary((await run.pass()).events)).toEqual([`cost_invoice.paid:${expense.id}`, `cost_invoice.updated:${expense.id}`, `invoice.overdue:${invoice.id}`, `invoice.updated:${invoice.id}`]);
  });

  it("sends updated_since = cursor − overlap with the offset's + encoded (the fake refuses a raw +), and the User-Agent everywhere", async () => {
    const { fake, run, clock } = await setup(["cost_invoices"]);
    const seeded = fake.create("expenses");
    await run.pass();
    clock.advance(60_000);
    await run.pass();
    const list = fake.requests.filter((r) => r.path.endsWith("/expenses.json"));
    expect(list[0]!.query).not.toContain("updated_since");
    const cursor = Date.parse(String(seeded.updated_at));
    const since = new Date(cursor - 5 * 60_000 + 60 * 60_000).toISOString().slice(0, 19);
    expect(list[1]!.query).toContain(`updated_since=${encodeURIComponent(`${since}+01:00`)}`);
    expect(list[1]!.query).toContain("%2B01%3A00");
    expect(statuses(fake).every((s) => s === 200)).toBe(true);
  });

  it("an idle incremental pass costs one request per resource (plus a token when it expired); all of them counted", async () => {
    const { fake, run, config } = await setup();
    await run.pass();
    // Every resource is empty: none has a baseline yet, so products are listed completely (archived items too).
    let before = fake.requests.length;
    await run.pass();
    expect(fake.requests.length - before).toBe(6);
    for (const resource of ["invoices", "expenses", "subjects", "inventory_items", "inventory_moves"] as const) fake.create(resource, resource === "inventory_moves" ? { inventory_item_id: 1 } : {});
    await run.pass();
    before = fake.requests.length;
    await run.pass();
    expect(fake.requests.length - before).toBe(5);
    expect(fakturoidIdlePassCost(config, 60_000)).toBe(5);
    expect(fakturoidIdlePassCost(config, 4 * 3_600_000)).toBe(6);
    expect(run.counted).toBe(fake.requests.length);
    expect(fake.requests[0]!.path).toBe("/api/v3/oauth/token");
  });

  it("an archived inventory item: reconciles read /inventory_items/archived.json, so it is one product.updated, not a record probed as missing every time", async () => {
    const { fake, run } = await setup(["products"]);
    fake.create("inventory_items", { name: "Kept" });
    const item = fake.create("inventory_items", { name: "Old stock" });
    await run.pass();
    fake.update("inventory_items", num(item.id), { archived: true });
    const first = await run.pass("reconcile");
    expect(summary(first.events)).toEqual([`product.updated:${item.id}`]);
    const before = fake.requests.length;
    const again = await run.pass("reconcile");
    expect(again.events).toEqual([]);
    expect(again.notices).toEqual([]);
    // The main list and the archived one; no detail GET of a record taken for missing.
    expect(fake.requests.slice(before).map((r) => r.path.replace(/^\/api\/v3\/accounts\/[^/]+/, ""))).toEqual(["/inventory_items.json", "/inventory_items/archived.json"]);
    // An idle incremental pass does not ask for the archived list.
    const idle = fake.requests.length;
    await run.pass();
    expect(fake.requests.slice(idle).map((r) => r.path.replace(/^\/api\/v3\/accounts\/[^/]+/, ""))).toEqual(["/inventory_items.json"]);
  });

  describe("tokens", () => {
    it("are fetched only when needed and reused while they live", async () => {
      const { fake, run, clock } = await setup(["invoices"]);
      expect(fake.tokensIssued()).toBe(0);
      await run.pass();
      clock.advance(60 * 60_000);
      await run.pass();
      expect(fake.tokensIssued()).toBe(1);
    });

    it("are renewed before they expire (no 401 drawn)", async () => {
      const { fake, run, clock } = await setup(["invoices"]);
      await run.pass();
      clock.advance(7200_000 - 4 * 60_000);
      expect((await run.pass()).outcomes[0]!.ok).toBe(true);
      expect(fake.tokensIssued()).toBe(2);
      expect(statuses(fake)).not.toContain(401);
    });

    it("a token expiring mid-pass is renewed once and the pass completes", async () => {
      const { fake, run, clock } = await setup(["invoices", "cost_invoices"]);
      fake.create("invoices");
      const expense = fake.create("expenses");
      await run.pass();
      clock.advance(60_000);
      fake.update("expenses", num(expense.id), { number: "X-1" });
      beforeServing(fake, (r) => r.path.endsWith("/expenses.json"), () => fake!.expireTokens());
      const pass = await run.pass();
      expect(pass.outcomes.every((o) => o.ok)).toBe(true);
      expect(summary(pass.events)).toEqual([`cost_invoice.updated:${expense.id}`]);
      expect(fake.tokensIssued()).toBe(2);
      expect(statuses(fake).filter((s) => s === 401)).toHaveLength(1);
    });

    it("refused credentials suspend the source after one token request", async () => {
      const { fake, run } = await setup(["invoices", "cost_invoices"], { client_secret: "wrong" });
      const pass = await run.pass();
      expect(pass.outcomes.map((o) => [o.ok, o.cause ?? o.blocked])).toEqual([
        [false, "auth"],
        [false, true],
      ]);
      expect(pass.outcomes[0]!.error).toMatch(/refused client_id \/ client_secret/);
      expect(pass.outcomes[0]!.error).not.toContain("wrong");
      expect(fake.requests).toHaveLength(1);
      expect((await run.store.getSourceState("fakturoid"))!.suspended).toBeDefined();
    });
  });

  it("a reconcile compares only the pages with a change (page marks)", async () => {
    const { fake, run, clock } = await setup(["invoices"]);
    fake.seed("invoices", 100); // pages of 40: 40, 40, 20
    const changed = fake.all("invoices")[50]!;
    const read = await readsOfReconcileAfter(run, clock, summary, () => {
      fake.update("invoices", num(changed.id), { note: "changed" });
      return [`invoice.updated:${changed.id}`];
    });
    // The edited invoice moved to the top of the list: the first two pages shifted and were
    // compared; the last page, and every page of the second walk, were not.
    expect(read).toHaveLength(80);
    expect(read[0]).toBe(String(changed.id));
  });

  it("refuses a user_agent without the \"Name (email)\" form", async () => {
    const fake = closeLater(await startFakturoidFake());
    expect(() => createSource(fakturoidConfig(fake.url, ["invoices"], { user_agent: "retrohook" }), { clock: new ManualClock(), logger: silentLogger() })).toThrow(/user_agent must look like "AppName \(you@example.com\)"/);
  });

  describe("rate limits", () => {
    it("with the window nearly spent, waits for the reset instead of drawing a 429", async () => {
      const { fake, run, clock } = await setup(["invoices", "cost_invoices"]);
      fake.setRateLimitRemaining(3);
      const started = clock.now();
      const pass = await run.pass();
      expect(pass.outcomes.every((o) => o.ok)).toBe(true);
      expect(statuses(fake)).not.toContain(429);
      expect(fake.requests).toHaveLength(3);
      expect(clock.now() - started).toBeGreaterThanOrEqual(50_000);
    });

    it("honours a 429 that comes anyway: waits t seconds and retries", async () => {
      const { fake, run, clock } = await setup(["invoices"]);
      fake.setRateLimitRemaining(0);
      const started = clock.now();
      const pass = await run.pass();
      expect(pass.outcomes[0]!.ok).toBe(true);
      expect(statuses(fake)).toEqual([429, 200, 200]);
      expect(clock.now() - started).toBeGreaterThanOrEqual(55_000);
    });

    it("a 429 whose reset is too far away fails the pass with a persisted back-off", async () => {
      const { fake, run, clock } = await setup(["invoices", "cost_invoices"], {}, { rateLimit: { quota: 10, windowSeconds: 900 } });
      fake.setRateLimitRemaining(0);
      const pass = await run.pass();
      expect(pass.outcomes[0]).toMatchObject({ ok: false, cause: "backoff" });
      expect(pass.outcomes[0]!.error).toMatch(/HTTP 429 rate limited by Fakturoid; backing off until/);
      expect(statuses(fake)).toEqual([429]);
      const state = await run.store.getSourceState("fakturoid");
      expect(Date.parse(state!.backoffUntil!)).toBeGreaterThanOrEqual(clock.now() + 890_000);
      const blocked = await run.pass();
      expect(blocked.outcomes[0]).toMatchObject({ blocked: true });
      expect(fake.requests).toHaveLength(1);
    });
  });

  describe("a list that moves while it is walked", () => {
    it("a deletion shifting a page boundary mid-walk: the walk is repeated and nothing is skipped", async () => {
      const { fake, run, clock } = await setup(["clients"]);
      fake.seed("subjects", 100);
      clock.advance(10 * 60_000);
      const newestFirst = fake.all("subjects").map((s) => String(s.id)).reverse();
      beforeServing(fake, (r) => r.path.endsWith("/subjects.json"), () => fake!.remove("subjects", Number(newestFirst[3])), 2);
      const pass = await run.pass();
      expect(pass.outcomes[0]!.ok).toBe(true);
      // Walk 1: 3 pages (one record skipped), walk 2: 3 pages (finds it), walk 3: 3 pages (nothing new).
      expect(fake.requests.filter((r) => r.path.endsWith("/subjects.json"))).toHaveLength(9);
      const known = new Set((await run.store.listSnapshotRefs({ source: "fakturoid", resource: "clients" })).map((r) => r.id));
      for (const id of newestFirst) if (id !== newestFirst[3]) expect(known.has(id)).toBe(true);
    });

    it("a walk of one page is not repeated", async () => {
      const { fake, run } = await setup(["clients"]);
      fake.seed("subjects", 39);
      await run.pass();
      expect(fake.requests.filter((r) => r.path.endsWith("/subjects.json"))).toHaveLength(1);
    });

    it("the cursor never passes the moment the pass began (changes during a long pass, or a server clock ahead, are re-read)", async () => {
      const clock = new ManualClock(Date.parse("2026-11-23T10:00:00Z"), { autoAdvance: true });
      const fake = closeLater(await startFakturoidFake({ now: () => clock.now() + 10 * 60_000 }));
      const run = closeLater(runner(fakturoidConfig(fake.url, ["cost_invoices"], { overlap: 60_000 }), { clock }));
      const expense = fake.create("expenses");
      const started = clock.now();
      await run.pass();
      const state = await run.store.getResourceState({ source: "fakturoid", resource: "cost_invoices" });
      expect(state!.cursor).toBe(started);
      expect(Date.parse(String(expense.updated_at))).toBeGreaterThan(started);
      clock.advance(60_000);
      fake.update("expenses", num(expense.id), { number: "changed" });
      expect(summary((await run.pass()).events)).toEqual([`cost_invoice.updated:${expense.id}`]);
    });
  });

  describe("deletions of inventory moves (nested detail path)", () => {
    it("are confirmed with the item id of records this process listed", async () => {
      const { fake, run } = await setup(["warehouse_documents"]);
      const item = fake.create("inventory_items");
      fake.create("inventory_moves", { inventory_item_id: item.id });
      const move = fake.create("inventory_moves", { inventory_item_id: item.id });
      await run.pass();
      fake.remove("inventory_moves", num(move.id));
      const pass = await run.pass("reconcile");
      expect(summary(pass.events)).toEqual([`warehouse_document.deleted:${move.id}`]);
      expect(fake.requests.some((r) => r.path === `/api/v3/accounts/acme/inventory_items/${item.id}/inventory_moves/${move.id}.json` && r.status === 404)).toBe(true);
    });

    it("are confirmed with the item id from the snapshot when the pipeline passes it", async () => {
      const { fake, config, clock } = await setup(["warehouse_documents"]);
      const item = fake.create("inventory_items");
      const kept = fake.create("inventory_moves", { inventory_item_id: item.id });
      const move = fake.create("inventory_moves", { inventory_item_id: item.id });
      fake.remove("inventory_moves", num(move.id));
      const source = createSource(config, { clock, logger: silentLogger() });
      const poller = source.pollers[0]!;
      const snapshot = (record: Record<string, unknown>): Snapshot => ({ version: 1, fingerprint: "x", json: JSON.stringify(record) });
      const ref = { kind: null, id: String(move.id) };
      const probe = { kind: null, id: String(kept.id) };
      const snapshots = new Map([
        [`\u001f${move.id}`, snapshot(move)],
        [`\u001f${kept.id}`, snapshot(kept)],
      ]);
      const confirm = poller.confirmGone as (...args: unknown[]) => Promise<Map<string, string>>;
      const answers = await confirm.call(poller, [ref], probe, { clock, logger: silentLogger() }, snapshots);
      expect([...answers.values()]).toEqual(["gone"]);
      const blind = await confirm.call(poller, [ref], probe, { clock, logger: silentLogger() });
      expect([...blind.values()]).toEqual(["unknown"]);
      source.close();
    });
  });
});

describe("Fakturoid: deleted invoices and expenses go to the trash", () => {
  it("a trashed invoice whose detail still answers 200 is deleted after two consecutive complete listings miss it, with the reason", async () => {
    const { fake, run } = await setup(["invoices", "cost_invoices"], {}, { trash: true });
    const keep = Number(fake.create("invoices").id);
    const doomed = Number(fake.create("invoices").id);
    const expense = Number(fake.create("expenses").id);
    fake.create("expenses");
    await run.pass();
    fake.remove("invoices", doomed);
    fake.remove("expenses", expense);
    expect((await run.pass("reconcile")).events).toEqual([]);
    // The trash: the detail GET of the deleted invoice answered 200 (no veto for ever, though).
    expect(fake.requests.filter((r) => r.path === `/api/v3/accounts/acme/invoices/${doomed}.json`).map((r) => r.status)).toContain(200);
    const second = await run.pass("reconcile");
    expect(summary(second.events)).toEqual([`cost_invoice.deleted:${expense}`, `invoice.deleted:${doomed}`]);
    for (const event of second.events) expect(event.data.reason).toMatch(/two consecutive complete listings.*trash/);
    expect((await run.pass("reconcile")).events).toEqual([]);
    expect(summary(run.events)).not.toContain(`invoice.deleted:${keep}`);
  });

  it("without the trash (404) a deleted invoice goes at the first reconcile, with no reason added", async () => {
    const { fake, run } = await setup(["invoices"]);
    fake.create("invoices");
    const doomed = Number(fake.create("invoices").id);
    await run.pass();
    fake.remove("invoices", doomed);
    const first = await run.pass("reconcile");
    expect(summary(first.events)).toEqual([`invoice.deleted:${doomed}`]);
    expect(first.events[0]!.data.reason).toBeUndefined();
  });
});
