import { afterEach, describe, expect, it } from "vitest";
import { startFacturaScriptsFake, type ApiKeyGrant, type FacturaScriptsFake } from "../../../fakes/facturascripts/fake.js";
import { runCli } from "../../../helpers/cli.js";
import { writeConfig } from "../../../helpers/config-file.js";
import { startReceiver, type Receiver } from "../../../helpers/receiver.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TOKEN = "SECRET-fs-readonly-5150";
/** What the key needs for `invoices` (docs/vendors/facturascripts.md), less the payment feeds. */
const WITHOUT_PAYMENTS: ApiKeyGrant = { allow: { facturaclientes: ["get"], logmessages: ["get"] } };
const INVOICES: ApiKeyGrant = { allow: { facturaclientes: ["get"], logmessages: ["get"], pagoclientes: ["get"], reciboclientes: ["get"] } };
const BOTH: ApiKeyGrant = { allow: { ...INVOICES.allow, facturaproveedores: ["get"], pagoproveedores: ["get"], reciboproveedores: ["get"] } };
const HOUR = 60 * 60_000;

let fake: FacturaScriptsFake | undefined;
let receiver: Receiver | undefined;

afterEach(async () => {
  await fake?.close();
  await receiver?.close();
});

function config(resources: string[]): string {
  return writeConfig({
    sources: [{ name: "erp", preset: "facturascripts", base_url: `${fake!.url}/api/3`, token: TOKEN, resources }],
    targets: [{ name: "hooks", url: receiver!.url, secret: SECRET }],
  }).path;
}

/** One `retrohook once` (optionally with the clock moved ahead): the events it delivered. */
async function once(path: string, options: { reconcile?: boolean; aheadMs?: number } = {}): Promise<{ events: string[]; code: number | null; stderr: string }> {
  const before = receiver!.requests.length;
  const result = await runCli(["once", "-c", path, ...(options.reconcile ? ["--reconcile"] : [])], { RETROHOOK_TEST_CLOCK_OFFSET_MS: String(options.aheadMs ?? 0) });
  expect(result.stderr).not.toContain(TOKEN);
  const fresh = receiver!.requests.slice(before);
  return { events: fresh.map((r) => JSON.parse(r.body) as { type: string; record_id: string }).map((b) => `${b.type}:${b.record_id}`), code: result.code, stderr: result.stderr };
}

const refused = (): number => fake!.requests.filter((r) => r.status === 403).length;
/** Every answer FacturaScripts counts toward its IP ban (401 and 403). */
const incidents = (): number => fake!.requests.filter((r) => r.status === 401 || r.status === 403).length;
/** Both resources baselined with a key that may read both, then cost_invoices' grant revoked: the next pass suspends it. Returns the config path and the fake. */
async function costInvoicesRevoked(): Promise<{ path: string; fake: FacturaScriptsFake }> {
  const started = await startFacturaScriptsFake({ token: "SECRET-full-access", keys: { [TOKEN]: BOTH } });
  fake = started;
  receiver = await startReceiver();
  started.seed("facturaproveedores", 2);
  const path = config(["invoices", "cost_invoices"]);
  expect((await once(path)).code).toBe(0);
  started.setGrant(TOKEN, INVOICES);
  return { path, fake: started };
}

const asked = (table: string): number => fake!.requests.filter((r) => r.path === `/api/3/${table}`).length;

describe("FacturaScripts: a key that may not read a feed or a resource", () => {
  it("without the payment feeds invoices keep flowing (paid from pagada); resume then delivers the payment made meanwhile", async () => {
    fake = await startFacturaScriptsFake({ token: "SECRET-full-access", keys: { [TOKEN]: WITHOUT_PAYMENTS } });
    receiver = await startReceiver();
    fake.seed("facturaclientes", 6);
    const unpaid = fake.all("facturaclientes").filter((row) => row.pagada === false).map((row) => Number(row.idfactura));
    expect(unpaid.length).toBeGreaterThanOrEqual(3);
    const path = config(["invoices"]);

    const first = await once(path);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/cannot read pagoclientes: paid facturaclientes are found from their own pagada/);
    expect(refused()).toBe(1);

    const sale = Number(fake.create("facturaclientes", { total: 121 }).idfactura);
    const second = await once(path);
    expect(second.code).toBe(0);
    expect(second.events).toEqual([`invoice.created:${sale}`]);
    // Warned once, asked once: the fact is kept in state.
    expect(second.stderr).not.toMatch(/cannot read pagoclientes/);
    expect(refused()).toBe(1);

    const status = await runCli(["status", "-c", path]);
    expect(status.stdout).toMatch(/^ {2}\w+: no access to pagoclientes: what it reports \(payments: paid\) is found via reconcile only \(since \d{4}-/m);

    // Degraded: the payment shows in the invoice's own `pagada`, read by the reconcile.
    fake.payInvoice("facturaclientes", unpaid[0]!);
    expect((await once(path)).events).toEqual([]);
    expect((await once(path, { reconcile: true })).events).toEqual([`invoice.updated:${unpaid[0]}`, `invoice.paid:${unpaid[0]}`]);

    // Paid while the feed is still denied, then access granted and resumed: delivered by the next pass.
    fake.payInvoice("facturaclientes", unpaid[1]!);
    fake.setGrant(TOKEN, INVOICES);
    const resumed = await runCli(["resume", "--source", "erp", "-c", path]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/feeds tried again: facturascripts:no-pagoclientes-access; cursors and snapshots kept/);
    expect((await once(path)).events).toEqual([`invoice.updated:${unpaid[1]}`, `invoice.paid:${unpaid[1]}`]);

    // From now on the payment feed serves `paid` in the incremental pass.
    fake.payInvoice("facturaclientes", unpaid[2]!);
    expect((await once(path)).events).toEqual([`invoice.updated:${unpaid[2]}`, `invoice.paid:${unpaid[2]}`]);
    expect(refused()).toBe(1);
    expect(incidents()).toBe(1);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(0);
    // No event lost: a reconcile finds nothing the passes missed, and every change was delivered once.
    expect((await once(path, { reconcile: true })).events).toEqual([]);
    const delivered = receiver.requests.map((r) => JSON.parse(r.body) as { type: string; record_id: string }).map((b) => `${b.type}:${b.record_id}`);
    expect(delivered.filter((e) => !e.startsWith("invoice.created")).sort()).toEqual(unpaid.slice(0, 3).flatMap((id) => [`invoice.paid:${id}`, `invoice.updated:${id}`]).sort());
    expect(new Set(delivered).size).toBe(delivered.length);
  }, 120_000);

  it("a denied payment feed is tried again after `reprobe` (one request), not before, and then catches up", async () => {
    fake = await startFacturaScriptsFake({ token: "SECRET-full-access", keys: { [TOKEN]: WITHOUT_PAYMENTS } });
    receiver = await startReceiver();
    fake.seed("facturaclientes", 4);
    const [target] = fake.all("facturaclientes").filter((row) => row.pagada === false).map((row) => Number(row.idfactura));
    const path = config(["invoices"]);
    expect((await once(path)).code).toBe(0);
    expect(asked("pagoclientes")).toBe(1);

    fake.payInvoice("facturaclientes", target!);
    // Within the hour: the feed is not asked again.
    expect((await once(path, { aheadMs: HOUR / 2 })).events).toEqual([]);
    expect(asked("pagoclientes")).toBe(1);
    // Past it and still denied: one request, one more ban incident, and none again for an hour.
    expect((await once(path, { aheadMs: HOUR + 60_000 })).code).toBe(0);
    expect(asked("pagoclientes")).toBe(2);
    expect(incidents()).toBe(2);
    expect((await once(path, { aheadMs: HOUR + 120_000 })).events).toEqual([]);
    expect((await once(path, { aheadMs: 2 * HOUR })).events).toEqual([]);
    expect(asked("pagoclientes")).toBe(2);
    expect(incidents()).toBe(2);

    fake.setGrant(TOKEN, INVOICES);
    // Due again: asked once, it answers, and the pass delivers the payment made meanwhile.
    expect((await once(path, { aheadMs: 2 * HOUR + 120_000 })).events).toEqual([`invoice.updated:${target}`, `invoice.paid:${target}`]);
    expect(refused()).toBe(2);
    expect(incidents()).toBe(2);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(0);
    // No event lost or repeated: a reconcile finds nothing more.
    expect((await once(path, { aheadMs: 2 * HOUR + 180_000, reconcile: true })).events).toEqual([]);
  }, 120_000);

  it("a resource suspended after a 403: resume keeps its cursor, so what was created meanwhile is delivered (reset would baseline it)", async () => {
    const { path, fake } = await costInvoicesRevoked();
    const suspended = await once(path);
    expect(suspended.code).toBe(1);
    const blocked = await once(path);
    expect(blocked.stderr).toMatch(/erp\/cost_invoices incremental: blocked: resource suspended .*run retrohook resume --source erp --resource cost_invoices/);
    expect(refused()).toBe(1);

    const meanwhile = Number(fake.create("facturaproveedores", { total: 70 }).idfactura);
    fake.setGrant(TOKEN, BOTH);
    const resumed = await runCli(["resume", "--source", "erp", "--resource", "cost_invoices", "-c", path]);
    expect(resumed.stdout).toMatch(/suspension lifted for cost_invoices/);
    expect((await once(path)).events).toEqual([`cost_invoice.created:${meanwhile}`]);
  }, 120_000);

  it("a suspended resource is re-probed automatically once `reprobe` has passed: one refused request per probe, then resumed", async () => {
    const { path, fake } = await costInvoicesRevoked();
    expect((await once(path)).code).toBe(1);
    expect(refused()).toBe(1);

    expect((await once(path, { aheadMs: HOUR / 2 })).stderr).toMatch(/cost_invoices incremental: blocked/);
    expect(refused()).toBe(1);
    // Due and still denied: one more refused request, suspended again.
    expect((await once(path, { aheadMs: HOUR + 60_000 })).stderr).toMatch(/cost_invoices incremental: failed: .*HTTP 403/);
    expect(refused()).toBe(2);
    expect((await once(path, { aheadMs: HOUR + 120_000 })).stderr).toMatch(/cost_invoices incremental: blocked/);
    expect(refused()).toBe(2);

    const meanwhile = Number(fake.create("facturaproveedores", { total: 80 }).idfactura);
    fake.setGrant(TOKEN, BOTH);
    expect((await once(path, { aheadMs: 2 * HOUR + 120_000 })).events).toEqual([`cost_invoice.created:${meanwhile}`]);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(0);
  }, 120_000);
});
