import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakturowniaFake, type FakturowniaFake } from "../../../../src/simulators/fakturownia/fake.js";
import { runCli } from "../../../helpers/cli.js";
import { writeConfig } from "../../../helpers/config-file.js";
import { startReceiver, verifySignature, type Receiver } from "../../../helpers/receiver.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TOKEN = "SECRET-fakturownia-token-77";
let fake: FakturowniaFake;
let receiver: Receiver;

beforeEach(async () => {
  fake = await startFakturowniaFake({ apiToken: TOKEN });
  receiver = await startReceiver();
});
afterEach(async () => {
  await fake.close();
  await receiver.close();
});

function config(resources: string[]): string {
  return writeConfig({
    sources: [{ name: "fakturownia", preset: "fakturownia", base_url: fake.url, api_token: "${FAKTUROWNIA_API_TOKEN}", resources }],
    targets: [{ name: "erp", url: receiver.url, secret: SECRET }],
  }).path;
}

const env = { FAKTUROWNIA_API_TOKEN: TOKEN };

/** Runs `once` and returns the event types (with record ids) the receiver got from it. */
async function once(path: string, ...args: string[]): Promise<string[]> {
  const before = receiver.requests.length;
  const result = await runCli(["once", "-c", path, ...args], env);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).not.toContain(TOKEN);
  const fresh = receiver.requests.slice(before);
  for (const request of fresh) verifySignature(request, SECRET);
  return fresh.map((r) => JSON.parse(r.body) as { type: string; record_id: string }).map((b) => `${b.type}:${b.record_id}`);
}

describe("Fakturownia preset through the CLI", () => {
  it("reports exactly the events of each change after a baseline", async () => {
    const oldIncome = Number(fake.create("invoices", { issue_date: "2024-06-01" }).id);
    const unpaidCost = Number(fake.create("cost_invoices", { issue_date: "2026-11-01", price_gross: "1230.00" }).id);
    const partCost = Number(fake.create("cost_invoices", { issue_date: "2026-11-02", price_gross: "1000.00" }).id);
    const doomed = Number(fake.create("cost_invoices", { issue_date: "2026-11-03" }).id);
    const path = config(["invoices", "cost_invoices", "warehouse_documents"]);
    expect(await once(path)).toEqual([]);

    const twoYearsBack = Number(fake.create("cost_invoices", { issue_date: "2024-11-01" }).id);
    expect(await once(path)).toEqual([`cost_invoice.created:${twoYearsBack}`]);

    fake.addPayment(unpaidCost, "1230.00");
    expect(await once(path)).toEqual([`cost_invoice.updated:${unpaidCost}`, `cost_invoice.paid:${unpaidCost}`]);

    const doc = Number(fake.create("warehouse_documents", { kind: "pz" }).id);
    expect(await once(path)).toEqual([`warehouse_document.created:${doc}`]);

    fake.update("invoices", oldIncome, { description: "corrected" });
    expect(await once(path)).toEqual([`invoice.updated:${oldIncome}`]);

    fake.addPayment(partCost, "400.00");
    expect(await once(path)).toEqual([`cost_invoice.updated:${partCost}`, `cost_invoice.partially_paid:${partCost}`]);

    fake.remove("cost_invoices", doomed);
    expect(await once(path)).toEqual([]);
    expect(await once(path, "--reconcile")).toEqual([`cost_invoice.deleted:${doomed}`]);
    expect(await once(path, "--reconcile")).toEqual([]);
  }, 120_000);

  it("pages back to the cursor only: 5,000 invoices and 2 changes cost at most 2 list requests", async () => {
    // 5,000 invoices last touched over the past five weeks (one every 10 minutes), in the fake's +01:00 style.
    const now = Date.now();
    const stamp = (ms: number): string => new Date(ms + 3_600_000).toISOString().replace("Z", "+01:00");
    fake.seed("invoices", 5000, (i) => ({ updated_at: stamp(now - (5000 - i) * 600_000), created_at: stamp(now - (5000 - i) * 600_000) }));
    const path = config(["invoices"]);
    await once(path);
    const ids = fake.all("invoices").slice(0, 2).map((i) => Number(i.id));
    for (const id of ids) fake.update("invoices", id, { description: "changed" });
    const before = fake.requests.length;
    expect((await once(path)).sort()).toEqual(ids.map((id) => `invoice.updated:${id}`).sort());
    const lists = fake.requests.slice(before).filter((r) => r.path === "/invoices.json");
    expect(lists.length).toBeLessThanOrEqual(2);
    expect(lists.every((r) => /period=all/.test(r.query) && /order=updated_at.desc/.test(r.query) && /per_page=100/.test(r.query))).toBe(true);
  }, 120_000);
});

describe("Fakturownia idle pass", () => {
  it("costs one list request per resource", async () => {
    fake.seed("invoices", 300);
    const path = config(["invoices", "cost_invoices"]);
    await once(path);
    const before = fake.requests.length;
    expect(await once(path)).toEqual([]);
    expect(fake.requests.slice(before).map((r) => r.path)).toEqual(["/invoices.json", "/invoices.json"]);
  }, 60_000);
});
