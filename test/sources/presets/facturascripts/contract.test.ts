import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../src/clock.js";
import { renderStatus } from "../../../../src/cli/commands/status.js";
import type { Config } from "../../../../src/config/types.js";
import type { FacturaScriptsSourceConfig } from "../../../../src/sources/presets/facturascripts/config.js";
import type { EventEnvelope } from "../../../../src/core/types.js";
import { collectStatus } from "../../../../src/server/read-model.js";
import { startFacturaScriptsFake, type ApiKeyGrant, type FacturaScriptsFake } from "../../../fakes/facturascripts/fake.js";
import { snapshotReads } from "../../../helpers/snapshot-reads.js";
import { closingAfterEach } from "../../../helpers/closing.js";
import { ContractRun, expectBackedOffFor, expectOk, presetContract, presetResource, presetSource, singleRecordRead, type PresetContractAdapter, type RequestLine } from "../contract.js";

const TOKEN = "SECRET-facturascripts-contract-key";
const FEEDS = new Set(["/api/3/pagoproveedores", "/api/3/reciboproveedores"]);
const isList = (r: RequestLine): boolean => r.method === "GET" && r.path === "/api/3/facturaproveedores";
const isSingleGet = singleRecordRead(/^\/api\/3\/facturaproveedores\/(\d+)$/);
const isLog = (r: RequestLine): boolean => r.path === "/api/3/logmessages" && r.query.get("filter[model]") === "FacturaProveedor";

/** Supplier invoices (`cost_invoices`) on a fake of the given release; lists unordered unless `stableOrder`. */
export function facturaScriptsAdapter(fakeOptions: Parameters<typeof startFacturaScriptsFake>[0] = {}): PresetContractAdapter<FacturaScriptsFake> {
  const version = fakeOptions.version ?? "2026.6";
  return {
    name: `facturascripts ${version} (${fakeOptions.stableOrder ? "lists in key order" : "unordered lists"})`,
    otherResource: "invoices",
    secret: TOKEN,
    start: (clock) => startFacturaScriptsFake({ token: TOKEN, now: () => clock.now(), ...fakeOptions }),
    config: (fake, resources, overrides) => presetSource<FacturaScriptsSourceConfig>({ name: "erp", preset: "facturascripts", timezone: "Europe/Madrid", base_url: `${fake.url}/api/3`, token: TOKEN }, resources, overrides),
    // 250 supplier invoices: a complete scan takes two key pages of 200.
    seed: (fake) => fake.seed("facturaproveedores", 250),
    create: (fake) => String(fake.create("facturaproveedores", { total: 121 }).idfactura),
    update: (fake, id) => void fake.update("facturaproveedores", Number(id), { observaciones: "corrected by hand" }),
    pay: (fake, id) => fake.payInvoice("facturaproveedores", Number(id)),
    remove: (fake, id) => fake.remove("facturaproveedores", Number(id)),
    deletedBy: "incremental",
    // New rows, the audit log and new payment rows: one request each when idle.
    idleRequests: 3,
    overlapRereads: false,
    // Key pages, audit-log pages and payment pages hold 200.
    burst: 210,
    isList,
    isSecondPage: (r) => isList(r) && r.query.has("filter[idfactura_gt]"),
    isSingleGet,
    isResourceRequest: (r) => isList(r) || isSingleGet(r) || FEEDS.has(r.path) || isLog(r),
    extraFaults: [
      {
        name: "a page missing in the middle (X-Total-Count larger than the rows listed)",
        at: "second-page",
        fault: { type: "status", status: 200, headers: { "x-total-count": "53" }, body: [] },
        causes: ["incomplete"],
        message: /X-Total-Count/,
      },
    ],
  };
}

presetContract(facturaScriptsAdapter({ version: "2026.6" }));
// The legacy release answers unknown fields with 200 [] and lists in no order: works only because every list sends a sort.
presetContract(facturaScriptsAdapter({ version: "2025.81", stableOrder: false }));

describe("preset contract: facturascripts specifics", () => {
  const closeLater = closingAfterEach();

  const RESOURCES = ["invoices", "cost_invoices", "warehouse_documents"];
  const summary = (events: EventEnvelope[]): string[] => events.map((e) => `${e.type}:${e.record_id}`).sort();

  async function start(options: { token?: string; keys?: Record<string, ApiKeyGrant>; version?: "2026.6" | "2025.81" | "2024.96" } = {}) {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000, { autoAdvance: true });
    const fake = closeLater(await startFacturaScriptsFake({ token: TOKEN, keys: options.keys, version: options.version, now: () => clock.now() }));
    fake.seed("facturaclientes", 5);
    fake.seed("facturaproveedores", 5);
    fake.seed("albaranclientes", 3);
    fake.seed("albaranproveedores", 3);
    const adapter = facturaScriptsAdapter();
    const config = adapter.config(fake, RESOURCES.map((name) => presetResource(name)), {});
    const run = closeLater(new ContractRun(fake, { ...config, token: options.token ?? TOKEN } as FacturaScriptsSourceConfig, clock));
    return { fake, run, clock };
  }

  it("a reconcile with nothing changed compares no key page again; a change is still found (page marks)", async () => {
    const { fake, run } = await start();
    fake.seed("facturaproveedores", 300); // two key pages of 200
    expectOk(await run.pass());
    const read = snapshotReads(run.store, (id, ref) => `${id.resource}:${ref.kind ?? ""}:${ref.id}`);
    expect((await run.pass("reconcile")).events).toEqual([]);
    expect(read).toEqual([]);
    fake.update("albaranproveedores", 2, { observaciones: "checked" });
    expect(summary((await run.pass("reconcile")).events)).toEqual(["warehouse_document.updated:2"]);
    expect(read).toEqual(["warehouse_documents:albaranproveedores:1", "warehouse_documents:albaranproveedores:2", "warehouse_documents:albaranproveedores:3"]);
  });

  it("every list request sends a sort and the legacy release works: records, the audit log and payments", async () => {
    const { fake, run } = await start({ version: "2025.81" });
    expectOk(await run.pass());
    const sale = String(fake.create("facturaclientes", { total: 50 }).idfactura);
    const bought = String(fake.create("facturaproveedores", { total: 70 }).idfactura);
    const note = String(fake.create("albaranproveedores", { total: 10 }).idalbaran);
    expect(summary((await run.pass()).events)).toEqual([`cost_invoice.created:${bought}`, `invoice.created:${sale}`, `warehouse_document.created:${note}`]);
    fake.payInvoice("facturaclientes", Number(sale));
    fake.update("albaranproveedores", Number(note), { observaciones: "checked" });
    fake.remove("facturaproveedores", Number(bought));
    expect(summary((await run.pass()).events)).toEqual([`cost_invoice.deleted:${bought}`, `invoice.paid:${sale}`, `invoice.updated:${sale}`, `warehouse_document.updated:${note}`]);
    expect((await run.pass("reconcile")).events).toEqual([]);
    const lists = fake.requests.filter((r) => r.method === "GET" && /^\/api\/3\/[a-z]+$/.test(r.path));
    expect(lists.length).toBeGreaterThan(10);
    expect(lists.filter((r) => !/[?&]sort%5B|[?&]sort\[/.test(r.query)).map((r) => `${r.path}${r.query}`)).toEqual([]);
  });

  it("a fresh install's products without actualizado are not listed again by every incremental pass; a new product still is", async () => {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000, { autoAdvance: true });
    const fake = closeLater(await startFacturaScriptsFake({ token: TOKEN, freshInstall: true, now: () => clock.now() }));
    expect(fake.all("productos").filter((row) => row.actualizado === null)).toHaveLength(9);
    const adapter = facturaScriptsAdapter();
    const run = closeLater(new ContractRun(fake, adapter.config(fake, [presetResource("products")], {}) as FacturaScriptsSourceConfig, clock));
    expectOk(await run.pass());
    const before = fake.requests.length;
    const idle = await run.pass();
    expectOk(idle);
    expect(idle.outcomes[0]!.records).toBe(0);
    // The rows saved since the day, and the rows above the highest key.
    expect(fake.requests.length - before).toBe(2);
    const product = String(fake.create("productos", { referencia: "NEW1", descripcion: "nuevo" }).idproducto);
    expect(summary((await run.pass()).events)).toEqual([`product.created:${product}`]);
  });

  it("a product imported without actualizado (behind FacturaScripts' back) is found by key in the next incremental pass, not only by a reconcile", async () => {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000, { autoAdvance: true });
    const fake = closeLater(await startFacturaScriptsFake({ token: TOKEN, freshInstall: true, now: () => clock.now() }));
    const adapter = facturaScriptsAdapter();
    const run = closeLater(new ContractRun(fake, adapter.config(fake, [presetResource("products")], {}) as FacturaScriptsSourceConfig, clock));
    expectOk(await run.pass());
    clock.advance(3 * 24 * 60 * 60_000);
    const imported = fake.importProduct({ referencia: "IMP1", descripcion: "importado" });
    expect(imported.actualizado).toBeNull();
    const before = fake.requests.length;
    const found = await run.pass();
    expectOk(found);
    expect(summary(found.events)).toEqual([`product.created:${String(imported.idproducto)}`]);
    const lists = listsOf(fake.requests.slice(before), "productos");
    expect(lists.map((q) => q.get("filter[idproducto_gt]"))).toContain("9");
    // The key moved on: the imported row is not listed again, and a reconcile finds nothing more.
    const idle = await run.pass();
    expect(idle.outcomes[0]!.records).toBe(0);
    expect((await run.pass("reconcile")).events).toEqual([]);
  });

  it("FacturaScripts before 2025 (2024.96) answers a missing record with 400 record-not-found: a logged deletion and a reconcile both take it as not found", async () => {
    const { fake, run } = await start({ version: "2024.96" });
    expectOk(await run.pass());
    const [logged, silent] = fake.all("facturaproveedores").slice(-2).map((r) => String(r.idfactura));
    fake.remove("facturaproveedores", Number(logged));
    const incremental = await run.pass();
    expectOk(incremental);
    expect(summary(incremental.events)).toEqual([`cost_invoice.deleted:${logged}`]);
    // A reconcile that finds a record missing confirms it with the same detail GET: deleted at once, not after a second reconcile.
    fake.remove("facturaproveedores", Number(silent));
    const reconcile = await run.pass("reconcile");
    expectOk(reconcile);
    expect(summary(reconcile.events)).toEqual([`cost_invoice.deleted:${silent}`]);
    expect(fake.requests.filter((r) => r.status === 400)).toHaveLength(2);
  });

  it("a key without logmessages access: one 403 and one warning for the source, never asked again, and reconciles still find edits and deletions", async () => {
    const limited = "SECRET-fs-no-audit-log-key";
    const tables = ["facturaclientes", "facturaproveedores", "albaranclientes", "albaranproveedores", "pagoclientes", "pagoproveedores", "reciboclientes", "reciboproveedores"];
    const { fake, run } = await start({ token: limited, keys: { [limited]: { allow: Object.fromEntries(tables.map((t) => [t, ["get"]])) } } });
    const logRequests = () => fake.requests.filter((r) => r.path === "/api/3/logmessages");
    const baseline = await run.pass();
    expectOk(baseline);
    expect(logRequests()).toHaveLength(1);
    expect(run.loggedMatching(/logmessages/)).toBe(1);

    const [edited, doomed] = fake.all("facturaproveedores").slice(-2).map((r) => String(r.idfactura));
    fake.update("facturaproveedores", Number(edited), { observaciones: "corrected by hand" });
    fake.remove("facturaproveedores", Number(doomed));
    const sale = String(fake.create("facturaclientes", { total: 10 }).idfactura);
    const incremental = await run.pass();
    expectOk(incremental);
    expect(summary(incremental.events)).toEqual([`invoice.created:${sale}`]);
    const reconcile = await run.pass("reconcile");
    expectOk(reconcile);
    expect(summary(reconcile.events)).toEqual([`cost_invoice.deleted:${doomed}`, `cost_invoice.updated:${edited}`]);
    for (let i = 0; i < 3; i += 1) {
      run.restart();
      expectOk(await run.pass());
      expectOk(await run.pass("reconcile"));
    }
    expect(logRequests()).toHaveLength(1);
    expect(fake.requests.filter((r) => r.status === 403)).toHaveLength(1);
    expect(run.loggedMatching(/logmessages/)).toBe(1);
    expect(fake.incidents()).toBe(1);
  });

  it("a key without logmessages access and a failing baseline: the 403 is remembered in state, not asked again by each retry or restart", async () => {
    const limited = "SECRET-fs-no-audit-log-key";
    const tables = ["facturaclientes", "facturaproveedores", "albaranclientes", "albaranproveedores", "pagoclientes", "pagoproveedores", "reciboclientes", "reciboproveedores"];
    const { fake, run } = await start({ token: limited, keys: { [limited]: { allow: Object.fromEntries(tables.map((t) => [t, ["get"]])) } } });
    fake.injectFault({ fault: { type: "status", status: 500, body: { error: "API-ERROR: database gone" } }, match: (r) => r.path === "/api/3/facturaclientes", times: Infinity });
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const failed = await run.pass();
      expect(failed.outcomes.some((o) => !o.ok && /HTTP 500/.test(o.error ?? ""))).toBe(true);
      run.restart();
    }
    fake.clearFaults();
    expectOk(await run.pass());
    expect(fake.requests.filter((r) => r.path === "/api/3/logmessages")).toHaveLength(1);
    expect(fake.incidents()).toBe(1);

    // `retrohook status` (and GET /api/status) shows what the source learned.
    const config: Config = { path: "/config.yaml", state: { url: "sqlite::memory:" }, server: { listen: "127.0.0.1:0" }, sources: [run.config], targets: [] };
    const view = await collectStatus({ config, store: run.store, now: run.clock.now() });
    expect(view.sources[0]!.facts).toEqual([{ name: "facturascripts:no-logmessages-access", since: expect.stringMatching(/^\d{4}-.*Z$/), text: "no access to logmessages: updates and deletions via reconcile only" }]);
    expect(renderStatus(view)).toMatch(/^ {2}erp: no access to logmessages: updates and deletions via reconcile only \(since \d{4}-.*retrohook resume --source erp\)$/m);
  });

  async function startParties() {
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000, { autoAdvance: true });
    const fake = closeLater(await startFacturaScriptsFake({ token: TOKEN, now: () => clock.now() }));
    // Seeded customers have codes "1".."9" and dates of entry over the past year, as FacturaScripts numbers them.
    fake.seed("clientes", 9);
    fake.seed("productos", 5);
    const config = facturaScriptsAdapter().config(fake, ["clients", "products"].map((name) => presetResource(name)), {});
    const run = closeLater(new ContractRun(fake, config, clock));
    return { fake, run, clock };
  }
  /** The queries of the list requests for one table. */
  const listsOf = (requests: Array<{ method: string; path: string; query: string }>, table: string): URLSearchParams[] =>
    requests.filter((r) => r.method === "GET" && r.path === `/api/3/${table}`).map((r) => new URLSearchParams(r.query));

  it("new customers are found by the next incremental pass though FacturaScripts numbers them without padding (\"9\", then \"10\")", async () => {
    const { fake, run } = await startParties();
    expectOk(await run.pass());
    expect(String(fake.create("clientes", { nombre: "Décima S.L." }).codcliente)).toBe("10");
    fake.create("clientes", { nombre: "Undécima S.L." });
    const found = await run.pass();
    expect(summary(found.events)).toEqual(["client.created:10", "client.created:11"]);
    // Listed by date of entry (the day of the newest seen), not by codes above "9", which "10" is not as text.
    const [list] = listsOf(found.requests, "clientes");
    expect(list!.get("filter[fechaalta_gte]")).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(list!.has("filter[codcliente_gt]")).toBe(false);
    expect(listsOf((await run.pass()).requests, "clientes")).toHaveLength(1);
    // Codes typed by hand, in mixed case: MariaDB orders them case-insensitively, and a reconcile pages through them.
    fake.create("clientes", { codcliente: "b1", nombre: "Beta" });
    fake.create("clientes", { codcliente: "A1", nombre: "Alfa" });
    expect(summary((await run.pass()).events)).toEqual(["client.created:A1", "client.created:b1"]);
    const reconcile = await run.pass("reconcile");
    expectOk(reconcile);
    expect(reconcile.events).toEqual([]);
  });

  it("a date of entry typed in the future does not hold back the customers created from today on", async () => {
    const { fake, run } = await startParties();
    fake.create("clientes", { nombre: "Futuro S.L.", fechaalta: "01-01-2099" });
    expectOk(await run.pass());
    fake.create("clientes", { nombre: "Hoy S.L." });
    expect(summary((await run.pass()).events)).toEqual(["client.created:11"]);
  });

  it("an edited product is found by the next incremental pass through productos.actualizado; idle, one request", async () => {
    const { fake, run } = await startParties();
    expectOk(await run.pass());
    fake.update("productos", 2, { precio: 99.5 });
    const created = fake.create("productos", { referencia: "NEW-1", descripcion: "Nuevo" });
    const found = await run.pass();
    expect(summary(found.events)).toEqual([`product.created:${String(created.idproducto)}`, "product.updated:2"]);
    const idle = await run.pass();
    expect(idle.events).toEqual([]);
    // The rows saved since the day, then the rows above the highest key (new rows without actualizado).
    expect(listsOf(idle.requests, "productos")).toHaveLength(2);
    expect(listsOf(idle.requests, "productos")[0]!.get("filter[actualizado_gte]")).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(listsOf(idle.requests, "productos")[1]!.get("filter[idproducto_gt]")).toMatch(/^\d+$/);
  });

  it("the IP ban (429) backs the whole source off for 10 minutes without further requests", async () => {
    const { fake, run, clock } = await start();
    expectOk(await run.pass());
    // Someone else on this IP used a wrong key five times: FacturaScripts bans the IP.
    for (let i = 0; i < 5; i += 1) await fetch(`${fake.url}/api/3/facturaclientes`, { headers: { "X-Auth-Token": "wrong" } });
    const sale = String(fake.create("facturaclientes", { total: 10 }).idfactura);
    const banned = await run.pass();
    const first = banned.outcomes[0]!;
    expect(first.ok).toBe(false);
    expect(first.cause).toBe("backoff");
    expect(first.error).toMatch(/^source erp, resource invoices: .*429.*banned/);
    expect(banned.requests.filter((r) => r.status === 429)).toHaveLength(1);
    const state = await run.store.getSourceState("erp");
    expect(Date.parse(state!.backoffUntil!)).toBeGreaterThanOrEqual(clock.now() + 9 * 60_000);

    const back = await expectBackedOffFor(run, 3, 10 * 60_000);
    expect(summary(back.events)).toEqual([`invoice.created:${sale}`]);
  });
});
