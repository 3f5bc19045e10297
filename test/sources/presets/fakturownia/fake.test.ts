import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakturowniaFake, UNAUTHORIZED_MESSAGE, type FakturowniaFake } from "../../../../src/simulators/fakturownia/fake.js";

type Row = Record<string, unknown>;

const START = Date.parse("2026-11-23T10:00:00Z");
let clock = START;
let fake: FakturowniaFake;

beforeEach(async () => {
  clock = START;
  fake = await startFakturowniaFake({ now: () => clock });
});

afterEach(async () => {
  await fake.close();
});

function url(path: string, params: Record<string, string | number> = {}, token: string | null = fake.apiToken): string {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  if (token !== null) query.set("api_token", token);
  return `${fake.url}${path}?${query.toString()}`;
}

async function getJson(path: string, params: Record<string, string | number> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url(path, params));
  return { status: response.status, body: await response.json(), headers: response.headers };
}

async function list(path: string, params: Record<string, string | number> = {}): Promise<Row[]> {
  const { status, body } = await getJson(path, params);
  expect(status).toBe(200);
  expect(Array.isArray(body)).toBe(true);
  return body as Row[];
}

async function send(method: string, path: string, body: unknown): Promise<{ status: number; body: Row }> {
  const response = await fetch(`${fake.url}${path}`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Row };
}

describe("Fakturownia fake: lists and paging", () => {
  it("serves bare arrays, 25 per page by default, clamps per_page to 100 and ends with a short then empty page", async () => {
    fake.seed("invoices", 230, () => ({ issue_date: "2026-11-01" }));
    expect(await list("/invoices.json")).toHaveLength(25);
    const first = await list("/invoices.json", { per_page: 500, page: 1 });
    expect(first).toHaveLength(100);
    const third = await list("/invoices.json", { per_page: 100, page: 3 });
    expect(third).toHaveLength(30);
    expect(await list("/invoices.json", { per_page: 100, page: 4 })).toEqual([]);
    const ids = new Set([...first, ...(await list("/invoices.json", { per_page: 100, page: 2 })), ...third].map((r) => r.id));
    expect(ids.size).toBe(230);
  });

  it("applies period=last_12_months on issue_date by default; period=all, more and search_date_type change it", async () => {
    fake.create("invoices", { issue_date: "2026-11-20", buyer_name: "Recent" });
    fake.create("invoices", { issue_date: "2025-06-01", buyer_name: "Old" });
    const paid = fake.create("invoices", { issue_date: "2024-01-10", buyer_name: "Old but paid lately" });
    fake.update("invoices", paid.id as number, { paid: paid.price_gross, paid_date: "2026-11-02" });

    expect((await list("/invoices.json")).map((r) => r.buyer_name)).toEqual(["Recent"]);
    expect(await list("/invoices.json", { period: "all" })).toHaveLength(3);
    const window = await list("/invoices.json", { period: "more", date_from: "2025-01-01", date_to: "2025-12-31" });
    expect(window.map((r) => r.buyer_name)).toEqual(["Old"]);
    const byPaidDate = await list("/invoices.json", { period: "this_month", search_date_type: "paid_date" });
    expect(byPaidDate.map((r) => r.buyer_name)).toEqual(["Old but paid lately"]);
  });

  it("sorts by order=updated_at.desc and other fields, ties broken by id, and ignores updated_since", async () => {
    fake.seed("invoices", 5, (i) => ({ issue_date: "2026-11-01", price_gross: i % 2 === 0 ? "100.00" : "20.5" }));
    clock += 60_000;
    fake.update("invoices", 2, { description: "touched" });
    const byUpdate = await list("/invoices.json", { period: "all", order: "updated_at.desc", updated_since: "2030-01-01" });
    expect(byUpdate.map((r) => r.id)).toEqual([2, 5, 4, 3, 1]);
    const byPrice = await list("/invoices.json", { period: "all", order: "price_gross" });
    expect(byPrice.map((r) => r.id)).toEqual([2, 4, 1, 3, 5]);
    const byPriceDesc = await list("/invoices.json", { period: "all", order: "price_gross.desc" });
    expect(byPriceDesc.map((r) => r.id)).toEqual([5, 3, 1, 4, 2]);
  });

  it("omits positions in lists unless include_positions=true; the detail has them", async () => {
    const invoice = fake.create("invoices", { positions: [{ name: "Hosting", tax: 23, total_price_gross: "123.00", quantity: 1 }] });
    const [plain] = await list("/invoices.json");
    expect(plain).not.toHaveProperty("positions");
    const [withLines] = await list("/invoices.json", { include_positions: "true" });
    expect(withLines?.positions).toHaveLength(1);
    const { body } = await getJson(`/invoices/${String(invoice.id)}.json`);
    expect((body as Row).price_gross).toBe("123.0");
    expect((body as Row).positions).toHaveLength(1);
  });

  // How fast: `npm run bench -- --only=fakes` (speed is the bench's, not a test's).
  it("seeds 100,000 records and serves pages of 100 of them, newest first, without repeats", async () => {
    fake.seed("invoices", 100_000);
    const seen = new Set<unknown>();
    let last = Infinity;
    for (let page = 1; page <= 21; page++) {
      const rows = await list("/invoices.json", { period: "all", order: "updated_at.desc", per_page: 100, page });
      expect(rows).toHaveLength(100);
      for (const row of rows) {
        const at = Date.parse(row.updated_at as string);
        expect(at).toBeLessThanOrEqual(last);
        last = at;
        seen.add(row.id);
      }
    }
    expect(seen.size).toBe(2_100);
  }, 30_000);
});

describe("Fakturownia fake: record shape", () => {
  it("splits income and cost invoices by income and renders income booleans, money strings and local timestamps", async () => {
    fake.create("invoices", { price_gross: 246 });
    fake.create("cost_invoices", { seller_name: "Dostawca" });
    const income = await list("/invoices.json");
    const cost = await list("/invoices.json", { income: "no" });
    expect(income.map((r) => r.income)).toEqual([true]);
    expect(cost.map((r) => r.income)).toEqual([false]);
    expect(cost[0]).toMatchObject({ seller_name: "Dostawca", accounting_kind: "goods" });
    expect(income[0]).toMatchObject({ price_gross: "246.0", price_net: "200.0", paid: "0.0", status: "issued", paid_date: null });
    expect(income[0]?.updated_at).toBe("2026-11-23T11:00:00.000+01:00");
    expect(income[0]?.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/);
    expect(income[0]).toHaveProperty("number", "FV 1/11/2026");
  });

  it("bumps updated_at on every write with the injected clock", async () => {
    const created = fake.create("clients", { name: "ACME" });
    clock += 90_500;
    const updated = fake.update("clients", created.id as number, { email: "a@b.pl" });
    expect(updated.created_at).toBe("2026-11-23T11:00:00.000+01:00");
    expect(updated.updated_at).toBe("2026-11-23T11:01:30.500+01:00");
  });

  it("serves single records of every resource, the payment at the singular path only", async () => {
    const invoice = fake.create("invoices");
    const doc = fake.create("warehouse_documents", { kind: "wz" });
    const client = fake.create("clients", { name: "ACME" });
    const product = fake.create("products", { name: "Widget" });
    const payment = fake.addPayment(invoice.id as number, "10.00");
    expect((await getJson(`/invoices/${String(invoice.id)}.json`)).status).toBe(200);
    const warehouse = (await getJson(`/warehouse_documents/${String(doc.id)}.json`)).body as Row;
    expect(warehouse).toMatchObject({ kind: "wz", number: "WZ 1/2026" });
    expect(warehouse.created_at).toBe(warehouse.updated_at);
    expect(((await getJson(`/clients/${String(client.id)}.json`)).body as Row).name).toBe("ACME");
    expect(((await getJson(`/products/${String(product.id)}.json`)).body as Row).name).toBe("Widget");
    expect(((await getJson(`/banking/payment/${String(payment.id)}.json`)).body as Row).price).toBe("10.0");
    expect((await getJson(`/banking/payments/${String(payment.id)}.json`)).status).toBe(404);
    expect(await list("/banking/payments.json")).toHaveLength(1);
  });
});

describe("Fakturownia fake: auth, errors, deletes", () => {
  it("answers 401 with the login message for a missing or wrong token, in the query or the body", async () => {
    for (const token of [null, "wrong"]) {
      const response = await fetch(url("/invoices.json", {}, token));
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ code: "error", message: UNAUTHORIZED_MESSAGE });
    }
    const badWrite = await send("POST", "/clients.json", { api_token: "wrong", client: { name: "X" } });
    expect(badWrite.status).toBe(401);
    const goodWrite = await send("POST", "/clients.json", { api_token: fake.apiToken, client: { name: "X" } });
    expect(goodWrite.status).toBe(201);
    expect(goodWrite.body.name).toBe("X");
    const deleteWithoutToken = await fetch(`${fake.url}/clients/${String(goodWrite.body.id)}.json`, { method: "DELETE" });
    expect(deleteWithoutToken.status).toBe(401);
  });

  it("hard-deletes: later GET is 404 {code,message} and the row leaves the list", async () => {
    const invoice = fake.create("invoices");
    fake.create("invoices");
    const response = await fetch(url(`/invoices/${String(invoice.id)}.json`), { method: "DELETE" });
    expect(response.status).toBe(200);
    const after = await getJson(`/invoices/${String(invoice.id)}.json`);
    expect(after.status).toBe(404);
    expect(after.body).toEqual({ code: "error", message: "Not found" });
    expect((await list("/invoices.json")).map((r) => r.id)).not.toContain(invoice.id);
    expect(fake.get("invoices", invoice.id as number)).toBeUndefined();
  });

  it("answers 422 {code, message:{field:[msgs]}} on invalid writes", async () => {
    const response = await send("POST", "/invoices.json", { api_token: fake.apiToken, invoice: { kind: "vat", buyer_name: "", issue_date: "23.11.2026" } });
    expect(response.status).toBe(422);
    expect(response.body.code).toBe("error");
    const message = response.body.message as Record<string, string[]>;
    expect(Object.keys(message).sort()).toEqual(["buyer_name", "issue_date"]);
    expect(message.buyer_name?.[0]).toEqual(expect.any(String));
    expect(() => fake.create("warehouse_documents", { kind: "xx" })).toThrow(/kind/);
  });

  it("can answer lists with HTTP 200 and an error body", async () => {
    fake.setBodyError("KSeF blocks this action");
    expect(await getJson("/invoices.json")).toMatchObject({ status: 200, body: { status: "error", message: "KSeF blocks this action" } });
    fake.setBodyError(null);
    expect(Array.isArray((await getJson("/invoices.json")).body)).toBe(true);
  });

  it("scripts 429 with and without Retry-After, 5xx and HTML through the kit", async () => {
    fake.injectFault({ fault: { type: "status", status: 429, headers: { "retry-after": "7" }, body: { code: "error", message: "Too many requests" } } });
    fake.injectFault({ fault: { type: "status", status: 429 } });
    fake.injectFault({ fault: { type: "status", status: 502, headers: { "content-type": "text/html" }, body: "<html><body>502 Bad Gateway</body></html>" } });
    fake.injectFault({ fault: { type: "html" } });
    const withRetry = await fetch(url("/invoices.json"));
    expect([withRetry.status, withRetry.headers.get("retry-after")]).toEqual([429, "7"]);
    const withoutRetry = await fetch(url("/invoices.json"));
    expect([withoutRetry.status, withoutRetry.headers.get("retry-after")]).toEqual([429, null]);
    const gateway = await fetch(url("/invoices.json"));
    expect([gateway.status, gateway.headers.get("content-type")]).toEqual([502, "text/html"]);
    const html = await fetch(url("/invoices.json"));
    expect(html.headers.get("content-type")).toBe("text/html");
    expect(await html.text()).toContain("<html>");
    expect((await fetch(url("/invoices.json"))).status).toBe(200);
  });
});

describe("Fakturownia fake: payments", () => {
  it("keeps status, paid and paid_date consistent: partial, then paid; each write bumps updated_at", async () => {
    const invoice = fake.create("invoices", { price_gross: "100.00" });
    const id = invoice.id as number;
    clock += 1_000;
    fake.addPayment(id, "40.00");
    expect(fake.get("invoices", id)).toMatchObject({ status: "partial", paid: "40.0", paid_date: null, updated_at: "2026-11-23T11:00:01.000+01:00" });
    clock += 1_000;
    const payment = fake.addPayment(id, "60.00");
    expect(payment).toMatchObject({ invoice_id: id, price: "60.0", paid: true, paid_date: "2026-11-23" });
    expect(fake.get("invoices", id)).toMatchObject({ status: "paid", paid: "100.0", paid_date: "2026-11-23", updated_at: "2026-11-23T11:00:02.000+01:00" });
    fake.remove("payments", payment.id as number);
    expect(fake.get("invoices", id)).toMatchObject({ status: "partial", paid: "40.0", paid_date: null });
  });

  it("POST /banking/payments.json with invoice_ids pays the invoices in order", async () => {
    const a = fake.create("invoices", { price_gross: "50.00" });
    const b = fake.create("invoices", { price_gross: "80.00" });
    const response = await send("POST", "/banking/payments.json", { api_token: fake.apiToken, banking_payment: { name: "Przelew", price: "70.00", invoice_ids: [a.id, b.id], paid: true, paid_date: "2026-11-20" } });
    expect(response.status).toBe(201);
    const invoices = await list("/invoices.json", { order: "id" });
    expect(invoices.map((r) => [r.status, r.paid, r.paid_date])).toEqual([
      ["paid", "50.0", "2026-11-20"],
      ["partial", "20.0", null],
    ]);
    const bad = await send("POST", "/banking/payments.json", { api_token: fake.apiToken, banking_payment: { price: "1", invoice_id: 999 } });
    expect(bad.status).toBe(422);
  });
});

describe("Fakturownia fake: webhooks", () => {
  let receiver: Server;
  const received: Row[] = [];

  beforeEach(async () => {
    received.length = 0;
    receiver = createServer((req, res) => {
      let data = "";
      req.on("data", (chunk: Buffer) => (data += chunk.toString("utf8")));
      req.on("end", () => {
        received.push(JSON.parse(data) as Row);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it("emits only for income invoices, clients and products, never for cost invoices, warehouse documents or payments", async () => {
    const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    for (const kind of ["invoice:create", "invoice:update", "invoice:destroy", "client:create", "product:update"]) fake.addWebhook(kind, target, "echo-token");
    const invoice = fake.create("invoices");
    fake.create("cost_invoices", { seller_name: "Dostawca" });
    fake.create("warehouse_documents");
    fake.create("payments", { price: "5.00" });
    fake.create("clients", { name: "ACME" });
    const product = fake.create("products", { name: "Widget" });
    fake.update("products", product.id as number, { name: "Widget 2" });
    fake.remove("invoices", invoice.id as number);
    await fake.webhooksIdle();
    expect(received.map((body) => body.kind).sort()).toEqual(["client:create", "invoice:create", "invoice:destroy", "product:update"]);
    expect(received.find((body) => body.kind === "invoice:create")).toMatchObject({ app_name: "fakturownia", api_token: "echo-token", invoice: { id: invoice.id, income: true } });
    expect(fake.webhookDeliveries.every((d) => d.status === 200)).toBe(true);
  });

  it("manages webhooks over HTTP and rejects receivers off loopback", async () => {
    const created = await send("POST", "/webhooks.json", { api_token: fake.apiToken, webhook: { kind: "invoice:create", url: "http://127.0.0.1:9/x", active: true } });
    expect(created.status).toBe(201);
    const offLoopback = await send("POST", "/webhooks.json", { api_token: fake.apiToken, webhook: { kind: "invoice:create", url: "http://example.com/x" } });
    expect(offLoopback.status).toBe(422);
    expect(await list("/webhooks.json")).toHaveLength(1);
  });
});
