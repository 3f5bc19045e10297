import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../../helpers/cli.js";
import { writeConfig } from "../../../helpers/config-file.js";
import { startReceiver, verifySignature, type Receiver } from "../../../helpers/receiver.js";
import { startFakturoidFake, type FakturoidFake } from "../../../fakes/fakturoid/fake.js";
import { beforeServing } from "./harness.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ENV = { FAKTUROID_CLIENT_ID: "cid-31337", FAKTUROID_CLIENT_SECRET: "csecret-SECRET-2718" };

let fake: FakturoidFake;
let receiver: Receiver;

beforeEach(async () => {
  fake = await startFakturoidFake({ clientId: ENV.FAKTUROID_CLIENT_ID, clientSecret: ENV.FAKTUROID_CLIENT_SECRET });
  receiver = await startReceiver();
});
afterEach(async () => {
  await fake.close();
  await receiver.close();
});

function config(extra: Record<string, unknown> = {}) {
  return writeConfig({
    sources: [
      {
        name: "fakturoid",
        preset: "fakturoid",
        base_url: fake.url,
        account: "acme",
        client_id: "${FAKTUROID_CLIENT_ID}",
        client_secret: "${FAKTUROID_CLIENT_SECRET}",
        user_agent: "retrohook-tests (ops@example.com)",
        ...extra,
      },
    ],
    targets: [{ name: "erp", url: receiver.url, secret: SECRET }],
  });
}

function received(from: number): string[] {
  return receiver.requests
    .slice(from)
    .map((request) => {
      verifySignature(request, SECRET);
      const body = JSON.parse(request.body) as { type: string; record_id: string };
      return `${body.type}:${body.record_id}`;
    })
    .sort();
}

describe("fakturoid through the CLI", () => {
  it("a token expiring mid-pass is renewed once; a new expense, an invoice paid, an inventory move and a deleted subject each yield exactly their events", async () => {
    const subject = fake.create("subjects");
    fake.create("subjects");
    const invoice = fake.create("invoices");
    const item = fake.create("inventory_items");
    const { path } = config();
    const baseline = await runCli(["once", "-c", path], ENV);
    expect(baseline.code, baseline.stderr).toBe(0);
    expect(receiver.requests).toHaveLength(0);
    expect(fake.tokensIssued()).toBe(1);

    const expense = fake.create("expenses");
    fake.addPayment("invoices", Number(invoice.id));
    const move = fake.create("inventory_moves", { inventory_item_id: item.id, direction: "out", quantity_change: "2.0" });
    fake.remove("subjects", Number(subject.id));
    beforeServing(fake, (r) => r.path.endsWith("/expenses.json"), () => fake.expireTokens());
    const mark = fake.requests.length;

    const changes = await runCli(["once", "-c", path], ENV);
    expect(changes.code, changes.stderr).toBe(0);
    expect(received(0)).toEqual([`cost_invoice.created:${expense.id}`, `invoice.paid:${invoice.id}`, `invoice.updated:${invoice.id}`, `warehouse_document.created:${move.id}`]);
    expect(fake.tokensIssued()).toBe(3);
    expect(fake.requests.slice(mark).filter((r) => r.status === 401)).toHaveLength(1);
    // updated_since arrives with its offset encoded; the fake answers 400 to a raw "+".
    const lists = fake.requests.slice(mark).filter((r) => r.path.endsWith(".json") && r.query.includes("updated_since="));
    // Resources whose listing was empty have no baseline yet: they are listed completely until one has records.
    expect([...new Set(lists.map((r) => r.path.split("/").at(-1)))].sort()).toEqual(["inventory_items.json", "invoices.json", "subjects.json"]);
    for (const list of lists) expect(list.query).toMatch(/updated_since=\d{4}-\d{2}-\d{2}T\d{2}%3A\d{2}%3A\d{2}%2B00%3A00/);
    expect(fake.requests.every((r) => r.status !== 400)).toBe(true);
    for (const secret of Object.values(ENV)) expect(changes.stderr).not.toContain(secret);

    const delivered = receiver.requests.length;
    const reconcile = await runCli(["once", "--reconcile", "-c", path], ENV);
    expect(reconcile.code, reconcile.stderr).toBe(0);
    expect(received(delivered)).toEqual([`client.deleted:${subject.id}`]);
  });

  it("the request budget counts every request, token requests included, and its use survives restarts", async () => {
    fake.create("invoices");
    const { path } = config({ budget: { requests: 14, per: "month" } });
    // The first pass is complete: a token, one list each, and the archived inventory items.
    const first = await runCli(["once", "-c", path], ENV);
    expect(first.code, first.stderr).toBe(0);
    expect(fake.requests).toHaveLength(7);
    // An idle pass of five resources costs a token, then one list each — and the archived inventory
    // items, since the empty products have no baseline yet and are listed completely.
    const second = await runCli(["once", "-c", path], ENV);
    expect(second.code, second.stderr).toBe(0);
    expect(fake.requests).toHaveLength(14);
    const spent = await runCli(["once", "-c", path], ENV);
    expect(spent.code).toBe(1);
    expect(spent.stderr).toMatch(/request budget spent \(14 of 14 this period\)/);
    expect(fake.requests).toHaveLength(14);
    expect(fake.monthlyCount()).toBe(14);
  });

  it("validate prints what the budget permits", async () => {
    const { path } = config({ budget: { requests: 1500, per: "month" } });
    const result = await runCli(["validate", "-c", path], ENV);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/budget: 1500 requests per month; .* permits one pass every [\d.]+ h on average/);
  });

  it("with the window nearly spent the bridge waits for the reset instead of drawing a 429; a 429 that comes anyway is honoured", async () => {
    await fake.close();
    fake = await startFakturoidFake({ clientId: ENV.FAKTUROID_CLIENT_ID, clientSecret: ENV.FAKTUROID_CLIENT_SECRET, rateLimit: { quota: 400, windowSeconds: 5 } });
    fake.create("invoices");
    const { path } = config({ resources: ["invoices", "cost_invoices"] });
    fake.setRateLimitRemaining(3);
    const nearlySpent = await runCli(["once", "-c", path], ENV);
    expect(nearlySpent.code, nearlySpent.stderr).toBe(0);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 200]);
    // Two requests were left after the token request: the last one waited for the window to reset.
    expect(fake.requests[2]!.at - fake.requests[0]!.at).toBeGreaterThan(1000);

    await new Promise((resolve) => setTimeout(resolve, 5200));
    fake.setRateLimitRemaining(0);
    const drawn = await runCli(["once", "-c", path], ENV);
    expect(drawn.code, drawn.stderr).toBe(0);
    expect(fake.requests.slice(3).map((r) => r.status)).toEqual([429, 200, 200, 200]);
  }, 60_000);
});
