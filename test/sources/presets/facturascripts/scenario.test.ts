import { afterEach, describe, expect, it } from "vitest";
import { startFacturaScriptsFake, type FacturaScriptsFake } from "../../../fakes/facturascripts/fake.js";
import { runCli } from "../../../helpers/cli.js";
import { writeConfig } from "../../../helpers/config-file.js";
import { startReceiver, verifySignature, type Receiver } from "../../../helpers/receiver.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
let fake: FacturaScriptsFake | undefined;
let receiver: Receiver | undefined;

afterEach(async () => {
  await fake?.close();
  await receiver?.close();
});

function config(token: string, resources: string[]): string {
  return writeConfig({
    sources: [{ name: "erp", preset: "facturascripts", base_url: `${fake!.url}/api/3`, token, resources }],
    targets: [{ name: "hooks", url: receiver!.url, secret: SECRET }],
  }).path;
}

async function once(path: string, token: string, ...args: string[]): Promise<{ events: string[]; code: number | null; stderr: string }> {
  const before = receiver!.requests.length;
  const result = await runCli(["once", "-c", path, ...args]);
  expect(result.stderr).not.toContain(token);
  const fresh = receiver!.requests.slice(before);
  for (const request of fresh) verifySignature(request, SECRET);
  return { events: fresh.map((r) => JSON.parse(r.body) as { type: string; record_id: string }).map((b) => `${b.type}:${b.record_id}`), code: result.code, stderr: result.stderr };
}

describe("FacturaScripts preset through the CLI", () => {
  it("finds a new sale, a new supplier invoice, a payment, an edit and a deletion in the next incremental pass", async () => {
    const token = "SECRET-fs-token-1234";
    fake = await startFacturaScriptsFake({ token, version: "2026.6" });
    receiver = await startReceiver();
    fake.seed("facturaclientes", 3);
    // A resource whose listing is empty has no baseline yet (the first listing with records is the
    // silent one): the supplier invoices start with one record too.
    fake.seed("facturaproveedores", 1);
    const path = config(token, ["invoices", "cost_invoices"]);
    expect((await once(path, token)).events).toEqual([]);

    const sale = Number(fake.create("facturaclientes", { total: 121 }).idfactura);
    expect((await once(path, token)).events).toEqual([`invoice.created:${sale}`]);

    const supplier = Number(fake.create("facturaproveedores", { total: 50 }).idfactura);
    expect((await once(path, token)).events).toEqual([`cost_invoice.created:${supplier}`]);

    fake.payInvoice("facturaclientes", sale);
    expect((await once(path, token)).events).toEqual([`invoice.updated:${sale}`, `invoice.paid:${sale}`]);

    const [first] = fake.all("facturaclientes");
    const edited = Number(first!.idfactura);
    fake.update("facturaclientes", edited, { observaciones: "corrected by hand" });
    expect((await once(path, token)).events).toEqual([`invoice.updated:${edited}`]);

    fake.remove("facturaproveedores", supplier);
    expect((await once(path, token)).events).toEqual([`cost_invoice.deleted:${supplier}`]);

    const idle = fake.requests.length;
    const quiet = await once(path, token);
    expect(quiet.events).toEqual([]);
    // One request per feed: new rows, audit log and payments, for each of the two resources.
    expect(fake.requests.length - idle).toBe(6);
  }, 120_000);

  it("a key without one resource: one clear permission error, the others keep working, one 403 in six runs", async () => {
    const token = "SECRET-fs-readonly-9876";
    fake = await startFacturaScriptsFake({
      token: "SECRET-full-access-key",
      keys: { [token]: { allow: { facturaclientes: ["get"], logmessages: ["get"], pagoclientes: ["get"], reciboclientes: ["get"], albaranclientes: ["get"], albaranproveedores: ["get"] } } },
    });
    receiver = await startReceiver();
    // With records, so that the first pass is the baseline (an empty listing is none).
    fake.seed("facturaclientes", 1);
    const path = config(token, ["invoices", "cost_invoices", "warehouse_documents"]);
    const first = await once(path, token);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/erp\/cost_invoices incremental: failed: .*HTTP 403 forbidden/);
    expect(first.stderr).toMatch(/erp\/invoices incremental: ok/);
    for (let run = 0; run < 5; run += 1) {
      const sale = Number(fake.create("facturaclientes", { total: 10 + run }).idfactura);
      const result = await once(path, token);
      expect(result.events).toEqual([`invoice.created:${sale}`]);
      expect(result.stderr).toMatch(/erp\/cost_invoices incremental: blocked: resource suspended/);
    }
    expect(fake.requests.filter((r) => r.status === 403)).toHaveLength(1);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(0);
  }, 120_000);
});
