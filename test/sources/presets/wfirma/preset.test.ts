import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../src/clock.js";
import type { WfirmaSourceConfig } from "../../../../src/sources/presets/wfirma/config.js";
import { startWfirmaFake, type WfirmaFake } from "../../../fakes/wfirma/fake.js";
import { WFIRMA_WAREHOUSE_MODULES, wfirmaIdlePassCost } from "../../../../src/sources/presets/wfirma/index.js";
import { beforeServing, changeOfEveryKind, runner, summary, wfirmaConfig, type Runner } from "./harness.js";
import { snapshotReads } from "../../../helpers/snapshot-reads.js";
import { MemoryStateStore } from "../../../helpers/memory-store.js";
import { pino } from "pino";
import { resetResources } from "../../../../src/pipeline/reset.js";
import { describeFact } from "../../../../src/sources/facts.js";
import { loadedSource } from "../../../helpers/source-config.js";

const ALL = ["invoices", "cost_invoices", "payments", "clients", "products", "warehouse_documents"];

let fake: WfirmaFake | undefined;
let run: Runner | undefined;
afterEach(async () => {
  run?.close();
  run = undefined;
  await fake?.close();
  fake = undefined;
});

async function setup(resources = ALL, overrides: Partial<WfirmaSourceConfig> = {}, fakeOptions: Parameters<typeof startWfirmaFake>[0] = {}) {
  const clock = new ManualClock(Date.parse("2026-11-23T10:00:00Z"), { autoAdvance: true });
  fake = await startWfirmaFake({ now: () => clock.now(), ...fakeOptions });
  const config = wfirmaConfig(fake.url, resources, overrides);
  run = runner(config, { clock });
  return { fake, run, clock, config };
}

const findsOf = (f: WfirmaFake) => f.requests.filter((r) => r.path.endsWith("/find"));

describe("wfirma preset", () => {
  it("a new expense, an expense paid, new WZ and PZ documents, an edited contractor and a payment each yield exactly their events", async () => {
    const { fake, run, clock } = await setup();
    const contractor = fake.create("contractors");
    const invoice = fake.create("invoices");
    const unpaid = fake.create("expenses");
    fake.create("goods");
    fake.create("warehouse_document_r_w");
    const first = await run.pass();
    expect(first.outcomes.every((o) => o.ok)).toBe(true);
    expect(first.events).toEqual([]);
    expect(first.outcomes.reduce((n, o) => n + o.baselined, 0)).toBe(5);

    clock.advance(60_000);
    const expected = changeOfEveryKind(fake, { contractor, invoice, unpaid }, { city: "Kraków" });
    clock.advance(60_000);

    const second = await run.pass();
    expect(second.outcomes.every((o) => o.ok)).toBe(true);
    expect(summary(second.events)).toEqual(expected);
    const paid = second.events.find((e) => e.type === "cost_invoice.paid")!;
    expect(paid.data.object).toMatchObject({ id: String(unpaid.id), remaining: "0.00" });
    expect(paid.data.object).not.toHaveProperty("expense");
    expect(second.events.find((e) => e.type === "client.updated")!.data.previous).toEqual({ city: "Warszawa", modified: contractor.modified });

    clock.advance(60_000);
    expect((await run.pass()).events).toEqual([]);
  });

  it("a payment that leaves the expense's modified as it was still fires paid in the next incremental pass (payments/find is followed)", async () => {
    const { fake, run, clock } = await setup(["cost_invoices"], {}, { paymentsTouchDocuments: false });
    const expense = fake.create("expenses");
    fake.create("expenses");
    await run.pass();
    // A later expense moves the cursor past the overlap: only a new stamp would bring the first one back into a find.
    clock.advance(30 * 60_000);
    const later = fake.create("expenses");
    expect(summary((await run.pass()).events)).toEqual([`cost_invoice.created:${later.id}`]);
    const before = fake.get("expenses", String(expense.id))!;
    fake.addPayment("expense", String(expense.id), String(before.brutto));
    expect(fake.get("expenses", String(expense.id))!.modified).toBe(before.modified);
    expect(summary((await run.pass()).events)).toEqual([`cost_invoice.paid:${expense.id}`, `cost_invoice.updated:${expense.id}`]);
    expect((await run.pass()).events).toEqual([]);
  });

  it("an invoice fully paid fires paid once (paymentstate and remaining change together)", async () => {
    const { fake, run, clock } = await setup(["invoices"]);
    const invoice = fake.create("invoices");
    await run.pass();
    clock.advance(60_000);
    fake.addPayment("invoice", String(invoice.id), String(invoice.total));
    expect(summary((await run.pass()).events)).toEqual([`invoice.paid:${invoice.id}`, `invoice.updated:${invoice.id}`]);
  });

  it("an idle incremental pass costs one find per module and one payments find per module payments pay, every request counted; finds are POSTs with json formats", async () => {
    const { fake, run, config } = await setup();
    fake.seed("invoices", 3);
    fake.seed("expenses", 3);
    await run.pass();
    const before = fake.requests.length;
    await run.pass();
    const idle = fake.requests.slice(before);
    expect(idle).toHaveLength(5 + WFIRMA_WAREHOUSE_MODULES.length + 2);
    expect(wfirmaIdlePassCost(config)).toBe(idle.length);
    expect(new Set(idle.map((r) => r.path))).toEqual(new Set(["/invoices/find", "/expenses/find", "/payments/find", "/contractors/find", "/goods/find", ...WFIRMA_WAREHOUSE_MODULES.map((m) => `/${m}/find`)]));
    for (const request of idle) {
      expect(request.method).toBe("POST");
      expect(request.query).toContain("inputFormat=json");
      expect(request.query).toContain("outputFormat=json");
    }
    expect(run.counted).toBe(fake.requests.length);
  });

  it("a reconcile compares only the pages a change moved (page marks): an edit moves a record to the end", async () => {
    const { fake, run, clock } = await setup(["cost_invoices"]);
    fake.seed("expenses", 250); // pages of 100: 100, 100, 50
    await run.pass();
    const read = snapshotReads(run.store);
    clock.advance(60_000);
    expect((await run.pass("reconcile")).events).toEqual([]);
    expect(read).toEqual([]);
    const edited = fake.all("expenses")[220]!;
    fake.update("expenses", String(edited.id), { description: "corrected" });
    clock.advance(60_000);
    expect(summary((await run.pass("reconcile")).events)).toEqual([`cost_invoice.updated:${edited.id}`]);
    // Ordered by (modified, id): the first two pages are as before; only the last one is compared —
    // 52 records, as each page after the first repeats the one record of the second it starts at.
    expect(read).toHaveLength(52);
    expect(read).toContain(String(edited.id));
  });

  it("incremental passes ask only what changed since cursor − overlap (zone-less Warsaw stamps), key-paged", async () => {
    const { fake, run, clock } = await setup(["cost_invoices"], { overlap: 60_000 });
    fake.seed("expenses", 250);
    const baseline = await run.pass();
    expect(baseline.outcomes[0]!.baselined).toBe(250);
    // Three pages, and once per module one find in the reverse order that proves the JSON order
    // (the seed is in id order, so no page can prove it).
    expect(findsOf(fake)).toHaveLength(4);
    clock.advance(10 * 60_000);
    const one = fake.create("expenses");
    const before = fake.requests.length;
    const pass = await run.pass();
    // The expenses, and the payments of expenses.
    expect(fake.requests.length - before).toBe(2);
    // The overlap re-reads the last minute of the seed (one record a second); only the new one is news.
    expect(pass.outcomes[0]!.records).toBe(62);
    expect(summary(pass.events)).toEqual([`cost_invoice.created:${one.id}`]);
  });

  it("more records in one second than a page (a bulk import) are read by id; every find uses flat conditions only", async () => {
    const frozen = Date.parse("2026-11-23T10:00:00Z");
    const { fake, run } = await setup(["cost_invoices"], {}, { now: () => frozen });
    for (let i = 0; i < 250; i += 1) fake.create("expenses");
    const bodies: string[] = [];
    fake.injectFault({ fault: { type: "delay", ms: 0 }, times: Infinity, match: (request) => (request.path.endsWith("/find") && bodies.push(request.body), false) });
    const baseline = await run.pass();
    expect(baseline.outcomes[0]).toMatchObject({ ok: true, baselined: 250, warnings: [] });
    const edited = fake.all("expenses")[180]!;
    fake.update("expenses", String(edited.id), { description: "corrected" });
    const reconcile = await run.pass("reconcile");
    expect(reconcile.outcomes[0]).toMatchObject({ ok: true, warnings: [] });
    expect(summary(reconcile.events)).toEqual([`cost_invoice.updated:${edited.id}`]);
    expect(reconcile.notices.filter((n) => /missing/.test(n))).toEqual([]);
    // Only the documented JSON form: numbered `condition`s joined by AND, no nested or/and/not.
    const parsed = bodies.map((body) => JSON.parse(body) as { expenses: { parameters: { conditions?: Record<string, object> } } });
    const conditions = parsed.flatMap((b) => Object.values(b.expenses.parameters.conditions ?? {}));
    expect(conditions.length).toBeGreaterThan(0);
    expect(conditions.every((c) => Object.keys(c).join() === "condition")).toBe(true);
    expect(conditions.some((c) => JSON.stringify(c).includes('"operator":"eq"'))).toBe(true);
  });

  it("a record edited or deleted while a complete scan pages through cannot be skipped", async () => {
    const { fake, run } = await setup(["cost_invoices"]);
    fake.seed("expenses", 250);
    await run.pass();
    const ids = fake.all("expenses").map((r) => String(r.id));
    // Between page 1 and 2: edit one seen and one unseen record, delete a seen one.
    beforeServing(
      fake,
      (request) => request.path === "/expenses/find",
      () => {
        fake!.update("expenses", ids[5]!, { description: "edited while paging" });
        fake!.update("expenses", ids[200]!, { description: "edited while paging" });
        fake!.remove("expenses", ids[10]!);
      },
      2,
    );
    const pass = await run.pass("reconcile");
    expect(pass.outcomes[0]!.ok).toBe(true);
    // Page 1 (100) + everything after its last key: 149 untouched, the two edited ones again at the end,
    // and the record each later page repeats (pages 2 and 3 start at the last stamp already seen).
    expect(pass.outcomes[0]!.records).toBe(253);
    expect(summary(pass.events)).toEqual([`cost_invoice.updated:${ids[200]}`, `cost_invoice.updated:${ids[5]}`].sort());
    expect(pass.notices.filter((n) => /missing/.test(n))).toEqual([]);
    // The deleted record was read before it went; the next reconcile finds it missing.
    expect(summary((await run.pass("reconcile")).events)).toEqual([`cost_invoice.deleted:${ids[10]}`]);
  });

  it("deletions are confirmed with get → NOT FOUND, also the Polish sentence, after the probe answered OK", async () => {
    const { fake, run } = await setup(["cost_invoices", "warehouse_documents"]);
    const keep = fake.create("expenses");
    const gone = fake.create("expenses");
    fake.create("warehouse_document_w_z");
    const wz = fake.create("warehouse_document_w_z");
    await run.pass();
    fake.remove("expenses", String(gone.id));
    fake.remove("warehouse_document_w_z", String(wz.id));
    fake.setPolishNotFound(true);
    const pass = await run.pass("reconcile");
    expect(summary(pass.events)).toEqual([`cost_invoice.deleted:${gone.id}`, `warehouse_document.deleted:${wz.id}/warehouse_document_w_z`]);
    expect(fake.requests.some((r) => r.path === `/expenses/get/${gone.id}`)).toBe(true);
    expect(fake.get("expenses", String(keep.id))).toBeDefined();
    expect(fake.requests.some((r) => r.path === `/warehouse_document_w_z/get/${wz.id}`)).toBe(true);
  });

  it("a get template that answers NOT FOUND for a live record confirms nothing (two reconciles needed)", async () => {
    const { fake, run } = await setup(["cost_invoices"]);
    fake.create("expenses");
    const gone = fake.create("expenses");
    await run.pass();
    fake.remove("expenses", String(gone.id));
    fake.setStatus("NOT FOUND", { times: 1, module: "expenses" });
    // The forced answer hits the first find: a NOT FOUND to a find is a vendor error, nothing deleted.
    const failed = await run.pass("reconcile");
    expect(failed.outcomes[0]!.ok).toBe(false);
    expect(failed.events).toEqual([]);
    // Now the probe gets NOT FOUND: the deletion waits for a second reconcile.
    beforeServing(fake, (r) => r.path.includes("/get/"), () => fake!.setStatus("NOT FOUND", { times: 1 }));
    const first = await run.pass("reconcile");
    expect(first.events).toEqual([]);
    expect(first.notices.join()).toMatch(/awaiting confirmation/);
    const second = await run.pass("reconcile");
    expect(summary(second.events)).toEqual([`cost_invoice.deleted:${gone.id}`]);
  });

  it.each(["ACTION NOT FOUND", "ACCESS DENIED"])("a module whose get answers %s leaves deletions to two reconciles instead of failing them", async (code) => {
    const { fake, run, config } = await setup(["clients"]);
    fake.create("contractors");
    const gone = fake.create("contractors");
    await run.pass();
    fake.remove("contractors", String(gone.id));
    fake.injectFault({ fault: { type: "status", status: 200, body: { status: { code } } }, times: Infinity, match: (request) => request.path.includes("/get/") });
    const first = await run.pass("reconcile");
    expect(first.outcomes[0]).toMatchObject({ ok: true });
    expect(first.events).toEqual([]);
    expect(first.notices.join()).toMatch(/awaiting confirmation/);
    const second = await run.pass("reconcile");
    expect(second.outcomes[0]).toMatchObject({ ok: true });
    expect(summary(second.events)).toEqual([`client.deleted:${gone.id}`]);
    // Not the resource's find access: no suspension.
    expect((await run.store.getResourceState({ source: config.name, resource: "clients" }))?.suspended).toBeUndefined();
  });

  it("parameters.total proves completeness: a short page fails the pass and deletes nothing", async () => {
    const { fake, run } = await setup(["cost_invoices"]);
    const a = fake.create("expenses");
    fake.create("expenses");
    await run.pass();
    fake.injectFault({ fault: { type: "status", status: 200, body: { expenses: { "0": { expense: fake.get("expenses", String(a.id)) }, parameters: { limit: "100", page: "1", total: "2" } }, status: { code: "OK" } } } });
    const pass = await run.pass("reconcile");
    expect(pass.outcomes[0]).toMatchObject({ ok: false, cause: "incomplete", deleted: 0 });
    expect(pass.outcomes[0]!.error).toMatch(/parameters.total says 2/);
  });

  it("lists are objects keyed \"0\", \"1\"… in numeric order; an empty list may be []", async () => {
    const { fake, run } = await setup(["clients"]);
    const rows = Array.from({ length: 12 }, (_, i) => ({ id: String(i + 1), name: `c${i}`, created: "2026-11-23 11:00:00", modified: `2026-11-23 11:00:${String(i).padStart(2, "0")}` }));
    const body = Object.fromEntries(rows.map((row, i) => [String(i), { contractor: row }]).reverse());
    fake.injectFault({ fault: { type: "status", status: 200, body: { contractors: { parameters: { total: "12", limit: "100", page: "1" }, ...body }, status: { code: "OK" } } } });
    const pass = await run.pass();
    expect(pass.outcomes[0]).toMatchObject({ ok: true, baselined: 12 });
    fake.injectFault({ fault: { type: "status", status: 200, body: { contractors: [], status: { code: "OK" } } } });
    expect((await run.pass()).outcomes[0]).toMatchObject({ ok: true, records: 0 });
  });

  it("a response out of (modified, id) order falls back to a complete page-numbered scan with a warning", async () => {
    const { fake, run } = await setup(["clients"]);
    fake.seed("contractors", 3);
    const [x, y] = fake.all("contractors");
    fake.injectFault({ fault: { type: "status", status: 200, body: { contractors: { "0": { contractor: { ...y, modified: "2026-11-23 12:00:00" } }, "1": { contractor: x }, parameters: { total: "3", limit: "100", page: "1" } }, status: { code: "OK" } } } });
    const pass = await run.pass();
    expect(pass.outcomes[0]!.ok).toBe(true);
    expect(pass.outcomes[0]!.warnings.join()).toMatch(/not sorted by \(modified, id\).*scanned the module completely/);
    expect(pass.outcomes[0]!.baselined).toBe(3);
  });

  it("AUTH suspends the source: no further request until the config changes", async () => {
    const { fake, run } = await setup(["invoices", "cost_invoices"], { secret_key: "wrong" });
    const pass = await run.pass();
    expect(pass.outcomes.map((o) => [o.resource, o.ok, o.cause ?? o.blocked])).toEqual([
      ["invoices", false, "auth"],
      ["cost_invoices", false, true],
    ]);
    expect(pass.outcomes[0]!.error).toMatch(/wFirma answered "AUTH".*refused/);
    const count = fake.requests.length;
    const again = await run.pass();
    expect(again.outcomes[0]!.error).toMatch(/source suspended/);
    expect(fake.requests.length).toBe(count);
  });

  it("AUTH FAILED LIMIT backs off at least 5 minutes, persisted, with a loud log; the rest of the pass makes no request", async () => {
    const errors: string[] = [];
    const logger = silentCapture(errors);
    const clock = new ManualClock(Date.parse("2026-11-23T10:00:00Z"), { autoAdvance: true });
    fake = await startWfirmaFake({ now: () => clock.now() });
    run = runner(wfirmaConfig(fake.url, ["invoices", "cost_invoices"]), { clock, logger });
    fake.setStatus("AUTH FAILED LIMIT WAIT 5 MINUTES", { times: 1 });
    const pass = await run.pass();
    expect(pass.outcomes.map((o) => o.ok)).toEqual([false, false]);
    expect(fake.requests).toHaveLength(1);
    expect(errors.join("\n")).toMatch(/AUTH FAILED LIMIT WAIT 5 MINUTES/);
    const state = await run.store.getSourceState("wfirma");
    expect(Date.parse(state!.backoffUntil!)).toBeGreaterThanOrEqual(clock.now() + 5 * 60_000 - 1000);
    clock.advance(4 * 60_000);
    const blocked = await run.pass();
    expect(blocked.outcomes[0]).toMatchObject({ ok: false, blocked: true });
    expect(blocked.outcomes[0]!.error).toMatch(/backing off until/);
    expect(fake.requests).toHaveLength(1);
    clock.advance(61_000);
    expect((await run.pass()).outcomes.every((o) => o.ok)).toBe(true);
  });

  it.each([
    ["TOTAL REQUESTS LIMIT EXCEEDED", 10],
    ["TOTAL EXECUTION TIME LIMIT EXCEEDED", 10],
    ["SNAPSHOT LOCK", 10],
    ["OUT OF SERVICE", 5],
  ])("%s backs off %i minutes", async (code, minutes) => {
    const { fake, run, clock } = await setup(["invoices"]);
    fake.setStatus(code, { times: 1 });
    const pass = await run.pass();
    expect(pass.outcomes[0]).toMatchObject({ ok: false, cause: "backoff" });
    const state = await run.store.getSourceState("wfirma");
    expect(Date.parse(state!.backoffUntil!) - clock.now()).toBe(minutes * 60_000);
  });

  it("COMPANY ID REQUIRED names the fix; with company_id the pass runs", async () => {
    const { run } = await setup(["invoices"], {}, { companies: ["1", "2"] });
    const pass = await run.pass();
    expect(pass.outcomes[0]).toMatchObject({ ok: false, cause: "vendor-error" });
    expect(pass.outcomes[0]!.error).toMatch(/COMPANY ID REQUIRED.*set company_id/);
    run.close();
    const config = wfirmaConfig(fake!.url, ["invoices"], { company_id: "2" });
    const fixed = runner(config);
    expect((await fixed.pass()).outcomes[0]!.ok).toBe(true);
    expect(fake!.requests.at(-1)!.query).toContain("company_id=2");
    fixed.close();
  });

  it("ACCESS DENIED suspends only that resource", async () => {
    const { fake, run } = await setup(["invoices", "cost_invoices"]);
    fake.setStatus("ACCESS DENIED", { times: 1, module: "invoices" });
    const pass = await run.pass();
    expect(pass.outcomes.map((o) => [o.resource, o.ok, o.cause])).toEqual([
      ["invoices", false, "forbidden"],
      ["cost_invoices", true, undefined],
    ]);
    const again = await run.pass();
    expect(again.outcomes[0]).toMatchObject({ blocked: true });
    expect(again.outcomes[1]!.ok).toBe(true);
  });

  it("authenticates with oauth_token as Bearer plus oauth_version=2", async () => {
    const { fake } = await setup(["invoices"], {}, { oauthToken: "tok-123456" });
    fake.create("invoices");
    const config = wfirmaConfig(fake.url, ["invoices"], { access_key: undefined, secret_key: undefined, app_key: undefined, oauth_token: "tok-123456" });
    const oauth = runner(config);
    const pass = await oauth.pass();
    expect(pass.outcomes[0]).toMatchObject({ ok: true, baselined: 1 });
    expect(fake.requests.at(-1)!.query).toContain("oauth_version=2");
    oauth.close();
  });

  it("HTML instead of JSON is a source fault: nothing deleted", async () => {
    const { fake, run } = await setup(["invoices"]);
    fake.create("invoices");
    await run.pass();
    fake.injectFault({ fault: { type: "html" } });
    const pass = await run.pass("reconcile");
    expect(pass.outcomes[0]).toMatchObject({ ok: false, cause: "not-json", deleted: 0 });
  });
});

function silentCapture(lines: string[]) {
  const logger = {
    child: () => logger,
    error: (...args: unknown[]) => void lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")),
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
    trace: () => undefined,
    fatal: () => undefined,
  };
  return logger as unknown as import("../../../../src/telemetry/logger.js").Logger;
}

describe("wfirma: zone-less stamps across the autumn DST change", () => {
  it("an edit stamped in the repeated hour (02:20 after 02:50) is not skipped by `modified ge cursor − overlap`", async () => {
    // 2026-10-25, the last Sunday of October: at 03:00 CEST (01:00Z) Warsaw goes back to 02:00 CET.
    const clock = new ManualClock(Date.parse("2026-10-25T00:30:00Z"), { autoAdvance: true });
    fake = await startWfirmaFake({ now: () => clock.now() });
    run = runner(wfirmaConfig(fake.url, ["clients"]), { clock });
    const finds: string[] = [];
    beforeServing(fake, (request) => request.path.endsWith("/contractors/find") && finds.push(request.body) < 0, () => undefined);
    const early = fake.create("contractors");
    const late = fake.create("contractors");
    expect((await run.pass()).outcomes[0]!.ok).toBe(true);

    // 02:50 CEST: an edit; the cursor reaches that wall time.
    clock.advance(20 * 60_000);
    fake.update("contractors", String(late.id), { name: "renamed at 02:50 CEST" });
    expect(fake.get("contractors", String(late.id))!.modified).toBe("2026-10-25 02:50:00");
    expect(summary((await run.pass()).events)).toEqual([`client.updated:${late.id}`]);

    // 02:20 CET, half an hour later in real time: the stamp is 30 minutes *earlier* on the wall.
    clock.advance(30 * 60_000);
    fake.update("contractors", String(early.id), { name: "renamed at 02:20 CET" });
    expect(fake.get("contractors", String(early.id))!.modified).toBe("2026-10-25 02:20:00");
    const pass = await run.pass();
    expect(pass.outcomes[0]!.ok).toBe(true);
    expect(summary(pass.events)).toEqual([`client.updated:${early.id}`]);
    // The widened window asked from before the repeated hour.
    expect(finds.at(-1)).toMatch(/"modified","operator":"ge","value":"2026-10-25 01:4\d:\d\d"/);

    // Once past the change, the window is the plain overlap again.
    clock.advance(2 * 60 * 60_000);
    await run.pass();
    expect(finds.at(-1)).toMatch(/"value":"2026-10-25 02:1\d:\d\d"/);
  });
});

describe("wfirma: a JSON order wFirma refuses", () => {
  it("INPUT ERROR about the order is 'not supported': passes go on with page-numbered scans without order, warned, learned once", async () => {
    const { fake, run, clock } = await setup(["clients"], {}, { jsonOrder: "input-error" });
    const first = fake.create("contractors");
    fake.create("contractors");
    const baseline = await run.pass();
    expect(baseline.outcomes[0]!.ok, baseline.outcomes[0]!.error).toBe(true);
    expect(baseline.outcomes[0]!.warnings.join("\n")).toMatch(/INPUT ERROR.*not supported/);
    expect(Object.keys((await run.store.getSourceState("wfirma"))?.facts ?? {})).toEqual(["wfirma:order-unsupported:contractors"]);

    clock.advance(60_000);
    const added = fake.create("contractors");
    fake.update("contractors", String(first.id), { name: "renamed" });
    const before = fake.requests.length;
    const next = await run.pass();
    expect(next.outcomes[0]!.ok, next.outcomes[0]!.error).toBe(true);
    expect(summary(next.events)).toEqual([`client.created:${added.id}`, `client.updated:${first.id}`].sort());
    // Known unsupported: no find with an order is sent again (each would be refused).
    expect(fake.requests.slice(before)).toHaveLength(1);
  });
});

describe("wfirma: a JSON order wFirma ignores while the data looks sorted", () => {
  /** 150 clients in id order; then #150 edited, then #1…#100 one second apart: by id, page 1 looks sorted. */
  async function editedOutOfIdOrder(jsonOrder: "honoured" | "ignored") {
    const { fake, run, clock } = await setup(["clients"], { overlap: 60_000 }, { jsonOrder });
    // The parameters of every find.
    const finds: Array<{ page: string; limit: string; order?: object; conditions?: object }> = [];
    fake.injectFault({ fault: { type: "delay", ms: 0 }, times: Infinity, match: (request) => (request.path.endsWith("/find") && finds.push((JSON.parse(request.body) as { contractors: { parameters: (typeof finds)[number] } }).contractors.parameters), false) });
    fake.seed("contractors", 150);
    const baseline = await run.pass();
    expect(baseline.outcomes[0]).toMatchObject({ ok: true, baselined: 150 });
    const facts = Object.keys((await run.store.getSourceState("wfirma"))?.facts ?? {});
    const baselineFinds = finds.map((f) => `${f.page}/${f.limit}`);
    finds.length = 0;
    clock.advance(10 * 60_000);
    const ids = fake.all("contractors").map((r) => String(r.id));
    fake.update("contractors", ids[149]!, { name: "edited first" });
    for (const id of ids.slice(0, 100)) {
      clock.advance(1_000);
      fake.update("contractors", id, { name: `edited ${id}` });
    }
    clock.advance(60_000);
    return { fake, run, ids, finds, facts, baselineFinds };
  }

  it("a list in id order is caught by one find in the reverse order: the module is read page by page, nothing is skipped, learned once", async () => {
    const { run, ids, finds, facts, baselineFinds } = await editedOutOfIdOrder("ignored");
    // The baseline (two pages, the seed in id order) already asked: page 1 by key, the reverse
    // find (same first record: ignored), then the module by page number.
    expect(baselineFinds).toEqual(["1/100", "1/1", "1/100", "2/100"]);
    expect(facts).toEqual(["wfirma:order-ignored:contractors"]);
    expect(describeFact(facts[0]!)).toMatch(/^contractors: the vendor ignores the sort order.*walks page by page/);
    const pass = await run.pass();
    expect(pass.outcomes[0]!.ok, pass.outcomes[0]!.error).toBe(true);
    // Key paging would ask `modified ge` the last stamp of page 1 and skip #150, edited before it.
    expect(summary(pass.events)).toEqual(ids.slice(0, 100).concat(ids[149]!).map((id) => `client.updated:${id}`).sort());
    expect(pass.outcomes[0]!.warnings.join("\n")).toMatch(/ignores the JSON order.*read what changed page by page instead/);
    // Known ignored: the two pages of what changed, by number, with the same conditions.
    expect(finds.map((f) => `${f.page}/${f.limit}`)).toEqual(["1/100", "2/100"]);
    expect(finds.every((f) => JSON.stringify(f.conditions).includes('"modified","operator":"ge"'))).toBe(true);

    finds.length = 0;
    const idle = await run.pass();
    expect(idle.outcomes[0]!.ok).toBe(true);
    expect(idle.events).toEqual([]);
    expect(finds.map((f) => `${f.page}/${f.limit}`)).toEqual(["1/100"]);
  });

  it("where the order is honoured, the reverse find proves it once; key paging goes on", async () => {
    const { run, ids, finds, facts, baselineFinds } = await editedOutOfIdOrder("honoured");
    // The seed is in id order: the baseline proved the order with one reverse find.
    expect(baselineFinds).toEqual(["1/100", "1/1", "1/100"]);
    expect(facts).toEqual(["wfirma:order-verified:contractors"]);
    const pass = await run.pass();
    expect(pass.outcomes[0]).toMatchObject({ ok: true, warnings: [] });
    expect(summary(pass.events)).toEqual(ids.slice(0, 100).concat(ids[149]!).map((id) => `client.updated:${id}`).sort());
    expect(finds.map((f) => `${f.page}/${f.limit}`)).toEqual(["1/100", "1/100"]);
  });
});

describe("wfirma: OAuth 2 with a refresh token", () => {
  const APP = { clientId: "wf-client-7781", clientSecret: "SECRET-wf-client-secret-5521", refreshToken: "SECRET-rt-initial-0001" };

  async function oauthSetup(fakeOauth: Partial<NonNullable<Parameters<typeof startWfirmaFake>[0]>["oauth"]> = {}) {
    const clock = new ManualClock(Date.parse("2026-11-23T10:00:00Z"), { autoAdvance: true });
    fake = await startWfirmaFake({ now: () => clock.now(), oauth: { ...APP, accessTtlS: 3600, ...fakeOauth } });
    const config = wfirmaConfig(fake.url, ["clients"], {
      access_key: undefined,
      secret_key: undefined,
      app_key: undefined,
      oauth_refresh_token: APP.refreshToken,
      client_id: APP.clientId,
      client_secret: APP.clientSecret,
    });
    // A raw logger (no scrubbing) at the lowest level: a token that reaches a log line shows.
    const lines: string[] = [];
    const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
    const store = new MemoryStateStore(clock);
    // A new Source per pass: each pass is a process of its own (like `retrohook once`).
    run = runner(config, { clock, store, fresh: true, logger });
    return { fake, run, clock, config, lines, store };
  }

  /** Renames client `id`; the next pass of `by` must succeed with exactly that update. */
  async function expectRenameArrives(fake: WfirmaFake, by: Runner, id: unknown): Promise<void> {
    fake.update("contractors", String(id), { name: "renamed" });
    const pass = await by.pass();
    expect(pass.outcomes[0], pass.outcomes[0]!.error).toMatchObject({ ok: true });
    expect(summary(pass.events)).toEqual([`client.updated:${id}`]);
  }

  it("fetches an access token with the refresh token and client credentials, keeps the rotated refresh token in state, and a restart uses it, not the spent one", async () => {
    const { fake, run, lines, config } = await oauthSetup();
    const first = fake.create("contractors");
    const baseline = await run.pass();
    expect(baseline.outcomes[0], baseline.outcomes[0]!.error).toMatchObject({ ok: true, baselined: 1 });
    expect(fake.oauthRequests()).toBe(1);
    // The initial refresh token is spent now; state holds the rotated one.
    const rotated = fake.currentRefreshToken()!;
    expect(rotated).not.toBe(APP.refreshToken);
    const secrets = JSON.stringify((await run.store.getSourceState("wfirma"))?.secrets ?? {});
    expect(secrets).toContain(rotated);
    expect(secrets).not.toContain(APP.refreshToken);

    // A restart (a new process): refreshes with the stored token, which works; the spent one would be refused.
    await expectRenameArrives(fake, run, first.id);
    expect(fake.oauthRequests()).toBe(2);
    expect(fake.refusedBearers()).toBe(0);
    expect(JSON.stringify((await run.store.getSourceState("wfirma"))?.secrets)).toContain(fake.currentRefreshToken()!);

    // `reset` starts over but keeps the rotated refresh token (the configured one is spent).
    await resetResources(run.store, config, undefined, { acceptDeletes: false, now: Date.now(), route: () => ["t"] });
    expect((await run.store.getSourceState("wfirma"))?.facts ?? {}).toEqual({});
    const afterReset = await run.pass();
    expect(afterReset.outcomes[0], afterReset.outcomes[0]!.error).toMatchObject({ ok: true, baselined: 1 });

    // Never in logs, status facts or errors: the client secret, any refresh token, any access token.
    const secretsSeen = [APP.clientSecret, APP.refreshToken, rotated, fake.currentRefreshToken()!, ...fake.issuedAccessTokens()];
    const text = lines.join("\n") + JSON.stringify((await run.store.getSourceState("wfirma"))?.facts ?? {});
    expect(lines.length).toBeGreaterThan(0);
    for (const value of secretsSeen) expect(text).not.toContain(value);
  });

  it("one process renews the access token before it expires, without a refused request", async () => {
    const { fake, clock, config } = await oauthSetup({ accessTtlS: 1800 });
    const daemon = runner(config, { clock, store: run!.store });
    fake.create("contractors");
    expect((await daemon.pass()).outcomes[0]!.ok).toBe(true);
    clock.advance(10 * 60_000);
    expect((await daemon.pass()).outcomes[0]!.ok).toBe(true);
    expect(fake.oauthRequests()).toBe(1);
    // 26 minutes in: within 5 minutes of the end of its 30, so renewed first.
    clock.advance(16 * 60_000);
    expect((await daemon.pass()).outcomes[0]!.ok).toBe(true);
    expect(fake.oauthRequests()).toBe(2);
    expect(fake.refusedBearers()).toBe(0);
    daemon.close();
  });

  it("an access token wFirma drops early is renewed once and the request sent again; a revoked refresh token suspends the source, naming the fix, not the token", async () => {
    const { fake, clock, config } = await oauthSetup();
    const daemon = runner(config, { clock, store: run!.store });
    const one = fake.create("contractors");
    expect((await daemon.pass()).outcomes[0]!.ok).toBe(true);
    fake.dropAccessTokens();
    await expectRenameArrives(fake, daemon, one.id);
    expect(fake.refusedBearers()).toBe(1);
    expect(fake.oauthRequests()).toBe(2);

    const issued = fake.issuedAccessTokens();
    const spent = fake.currentRefreshToken()!;
    fake.revokeOAuth();
    const revoked = await daemon.pass();
    expect(revoked.outcomes[0]).toMatchObject({ ok: false, cause: "auth" });
    expect(revoked.outcomes[0]!.error).toMatch(/refused the OAuth refresh \(invalid_grant\).*authorize the application again.*oauth_refresh_token/);
    expect(issued.length).toBeGreaterThan(0);
    for (const value of [APP.clientSecret, APP.refreshToken, spent, ...issued]) expect(revoked.outcomes[0]!.error).not.toContain(value);
    daemon.close();
  });

  it("a new refresh token in the config replaces the stored one", async () => {
    const { fake, run: first, store, clock } = await oauthSetup({ rotate: true });
    fake.create("contractors");
    expect((await first.pass()).outcomes[0]!.ok).toBe(true);
    // The user authorized the application again and put the new refresh token in the config.
    const given = fake.authorizeAgain();
    const config = wfirmaConfig(fake.url, ["clients"], { access_key: undefined, secret_key: undefined, app_key: undefined, oauth_refresh_token: given, client_id: APP.clientId, client_secret: APP.clientSecret });
    const again = runner(config, { clock, store });
    const pass = await again.pass();
    expect(pass.outcomes[0], pass.outcomes[0]!.error).toMatchObject({ ok: true });
    expect(fake.currentRefreshToken()).not.toBe(given);
    expect(JSON.stringify((await store.getSourceState("wfirma"))?.secrets)).toContain(fake.currentRefreshToken()!);
    again.close();
  });
});

describe("wfirma: OAuth 2 config", () => {
  const parse = (source: Record<string, unknown>) => () => loadedSource({ name: "wf", preset: "wfirma", resources: ["clients"], ...source });
  it("a refresh token needs the client id and secret; they serve nothing alone; OAuth and the API keys exclude each other", () => {
    expect(parse({ oauth_refresh_token: "rt-1", client_id: "c" })).toThrow(/client_secret.*required with oauth_refresh_token/);
    expect(parse({ client_id: "c", client_secret: "s", access_key: "a", secret_key: "b", app_key: "d" })).toThrow(/client_id and client_secret only serve oauth_refresh_token, which is missing/);
    expect(parse({ oauth_refresh_token: "rt-1", client_id: "c", client_secret: "s", access_key: "a" })).toThrow(/either OAuth 2 .* or access_key \+ secret_key \+ app_key, not both/);
    expect(parse({ oauth_refresh_token: "rt-1", client_id: "c", client_secret: "s", oauth_token: "at-1" })).not.toThrow();
    expect(parse({})).toThrow(/needs credentials: .*oauth_refresh_token with client_id and client_secret/);
  });
});
