import { describe, expect, it } from "vitest";
import type { ManualClock } from "../../../../src/clock.js";
import { startFakturoidFake, type FakturoidFake, type FakturoidFakeOptions } from "../../../fakes/fakturoid/fake.js";
import { fakeOnClock } from "../../../helpers/fake-on-clock.js";

const UA = "retrohook-tests (ops@example.com)";
const BASIC = `Basic ${Buffer.from("cid:csecret").toString("base64")}`;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/;

type Json = Record<string, unknown>;

const fakes = fakeOnClock(startFakturoidFake);
let token = "";

async function start(options: FakturoidFakeOptions = {}): Promise<{ fake: FakturoidFake; clock: ManualClock }> {
  const started = await fakes.start(options);
  token = await fetchToken();
  return started;
}

async function fetchToken(): Promise<string> {
  const response = await fetch(`${fakes.current().url}/api/v3/oauth/token`, {
    method: "POST",
    headers: { "user-agent": UA, authorization: BASIC, "content-type": "application/json" },
    body: JSON.stringify({ grant_type: "client_credentials" }),
  });
  return ((await response.json()) as Json).access_token as string;
}

interface CallOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

function api(path: string, options: CallOptions = {}): Promise<Response> {
  const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  return fetch(`${fakes.current().url}/api/v3/accounts/acme${path}`, {
    method: options.method ?? "GET",
    headers: {
      "user-agent": UA,
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers,
    },
    body,
  });
}

async function list(path: string): Promise<Json[]> {
  const response = await api(path);
  expect(response.status).toBe(200);
  return (await response.json()) as Json[];
}

async function listAll(path: string): Promise<Json[]> {
  const out: Json[] = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let page = 1; ; page += 1) {
    const rows = await list(`${path}${sep}page=${page}`);
    out.push(...rows);
    if (rows.length < 40) return out;
  }
}

describe("Fakturoid fake: OAuth and headers", () => {
  it("issues client-credentials tokens (JSON or form body) with Basic auth, expires_in 7200", async () => {
    const { fake } = await start();
    const form = await fetch(`${fake.url}/api/v3/oauth/token`, {
      method: "POST",
      headers: { "user-agent": UA, authorization: BASIC, "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials",
    });
    expect(form.status).toBe(200);
    expect(await form.json()).toMatchObject({ token_type: "Bearer", expires_in: 7200, access_token: expect.any(String) });
    expect(fake.tokensIssued()).toBe(2);

    const badClient = await fetch(`${fake.url}/api/v3/oauth/token`, {
      method: "POST",
      headers: { "user-agent": UA, authorization: `Basic ${Buffer.from("cid:nope").toString("base64")}`, "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "client_credentials" }),
    });
    expect(badClient.status).toBe(401);
    expect(await badClient.json()).toMatchObject({ error: "invalid_client" });

    const badGrant = await fetch(`${fake.url}/api/v3/oauth/token`, {
      method: "POST",
      headers: { "user-agent": UA, authorization: BASIC, "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "password" }),
    });
    expect(badGrant.status).toBe(400);
    expect(fake.tokensIssued()).toBe(2);
  });

  it("requires a Bearer token (401 invalid_token with error_description) and lets tokens expire on the injected clock", async () => {
    const { fake, clock } = await start({ tokenTtlSeconds: 7200 });
    const missing = await api("/invoices.json", { headers: { authorization: "" } });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: "invalid_token", error_description: expect.any(String) });
    expect((await api("/invoices.json")).status).toBe(200);
    clock.advance(7199_000);
    expect((await api("/invoices.json")).status).toBe(200);
    clock.advance(1000);
    const expired = await api("/invoices.json");
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ error: "invalid_token" });
    token = await fetchToken();
    expect((await api("/invoices.json")).status).toBe(200);
    fake.expireTokens();
    expect((await api("/invoices.json")).status).toBe(401);
  });

  it("answers 400 invalid_request without a User-Agent, and for agents without the documented contact form", async () => {
    await start();
    const empty = await api("/invoices.json", { headers: { "user-agent": "" } });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: "invalid_request" });
    expect((await api("/invoices.json", { headers: { "user-agent": "node" } })).status).toBe(400);
    const tokenWithoutAgent = await fetch(`${fakes.current().url}/api/v3/oauth/token`, {
      method: "POST",
      headers: { "user-agent": "", authorization: BASIC, "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "client_credentials" }),
    });
    expect(tokenWithoutAgent.status).toBe(400);
  });

  it("accepts any non-empty User-Agent with strictUserAgent off", async () => {
    await start({ strictUserAgent: false });
    expect((await api("/invoices.json", { headers: { "user-agent": "node" } })).status).toBe(200);
  });

  it("answers 404 for an unknown slug, unknown id or unknown path, and serves user.json", async () => {
    const { fake } = await start();
    fake.seed("invoices", 1);
    const wrongSlug = await fetch(`${fake.url}/api/v3/accounts/other/invoices.json`, { headers: { "user-agent": UA, authorization: `Bearer ${token}` } });
    expect(wrongSlug.status).toBe(404);
    expect(await wrongSlug.json()).toMatchObject({ error: expect.any(String), error_description: expect.any(String) });
    expect((await api("/invoices/999.json")).status).toBe(404);
    expect((await api("/invoices/1.json")).status).toBe(200);
    expect((await api("/nothing.json")).status).toBe(404);
    const user = await fetch(`${fake.url}/api/v3/user.json`, { headers: { "user-agent": UA, authorization: `Bearer ${token}` } });
    expect(((await user.json()) as Json).accounts).toEqual([expect.objectContaining({ slug: "acme" })]);
  });

  it("is JSON only: 415 for another Accept, or a write without application/json", async () => {
    const { fake } = await start();
    fake.create("subjects");
    expect((await api("/invoices.json", { headers: { accept: "application/xml" } })).status).toBe(415);
    expect((await api("/subjects.json", { method: "POST", body: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } })).status).toBe(415);
    expect((await api("/invoices.json", { headers: { accept: "application/json" } })).status).toBe(200);
  });
});

describe("Fakturoid fake: rate limit and quota", () => {
  it("sends X-RateLimit-Policy and X-RateLimit on every response, counting down", async () => {
    await start();
    const ok = await api("/invoices.json");
    expect(ok.headers.get("x-ratelimit-policy")).toBe("default;q=400;w=60");
    expect(ok.headers.get("x-ratelimit")).toBe("default;r=398;t=60");
    const notFound = await api("/invoices/1.json");
    expect(notFound.headers.get("x-ratelimit")).toBe("default;r=397;t=60");
    const unauthorized = await api("/invoices.json", { headers: { authorization: "" } });
    expect(unauthorized.headers.get("x-ratelimit")).toMatch(/^default;r=396;t=\d+$/);
  });

  it("answers 429 (error body, no Retry-After) when the window is spent, and recovers when it resets", async () => {
    const { fake, clock } = await start({ rateLimit: { quota: 400, windowSeconds: 60 } });
    clock.advance(20_000);
    fake.setRateLimitRemaining(1);
    expect((await api("/invoices.json")).status).toBe(200);
    const limited = await api("/invoices.json");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeNull();
    expect(limited.headers.get("x-ratelimit")).toBe("default;r=0;t=40");
    expect(await limited.json()).toMatchObject({ error: expect.any(String) });
    clock.advance(40_000);
    const recovered = await api("/invoices.json");
    expect(recovered.status).toBe(200);
    expect(recovered.headers.get("x-ratelimit")).toBe("default;r=399;t=60");
  });

  it("counts every request of the fake-clock month, token requests included", async () => {
    const { fake, clock } = await start({ monthlyQuota: 1500 });
    await api("/invoices.json");
    await api("/invoices.json?page=2");
    expect(fake.monthlyCount()).toBe(3);
    expect(fake.monthlyQuota).toBe(1500);
    clock.advance(10 * 86_400_000);
    expect(fake.monthlyCount()).toBe(0);
  });
});

describe("Fakturoid fake: lists", () => {
  it("pages at exactly 40, ignores per_page, returns a short last page then []", async () => {
    const { fake } = await start();
    fake.seed("subjects", 100);
    expect(await list("/subjects.json?per_page=100")).toHaveLength(40);
    expect(await list("/subjects.json?page=2")).toHaveLength(40);
    expect(await list("/subjects.json?page=3")).toHaveLength(20);
    expect(await list("/subjects.json?page=4")).toEqual([]);
    const all = await listAll("/subjects.json");
    expect(new Set(all.map((s) => s.id)).size).toBe(100);
  });

  it("does not list by id: the most recently updated come first by default, other orders on request", async () => {
    const first = await start();
    first.fake.seed("invoices", 5);
    first.clock.advance(1000);
    first.fake.update("invoices", 2, { note: "touched" });
    const ids = (await list("/invoices.json")).map((i) => i.id);
    expect(ids).toEqual([2, 5, 4, 3, 1]);
    await first.fake.close();
    const { fake } = await start({ listOrder: "scrambled" });
    fake.seed("invoices", 10);
    const scrambled = (await list("/invoices.json")).map((i) => i.id as number);
    expect(scrambled).not.toEqual([...scrambled].sort((a, b) => a - b));
    expect(scrambled).not.toEqual([...scrambled].sort((a, b) => b - a));
  });

  it("filters since/until on created_at and updated_since/updated_until on updated_at, with offsets", async () => {
    const { fake, clock } = await start();
    const a = fake.create("invoices"); // 10:00Z
    clock.advance(3_600_000);
    const b = fake.create("invoices"); // 11:00Z
    clock.advance(3_600_000);
    fake.update("invoices", a.id as number, { note: "later" }); // a.updated 12:00Z
    token = await fetchToken(); // two hours: the first token has expired
    const ids = async (query: string): Promise<unknown[]> => (await list(`/invoices.json?${query}`)).map((i) => i.id).sort();
    expect(await ids("since=2026-11-23T11:30:00%2B01:00")).toEqual([b.id]);
    expect(await ids("until=2026-11-23T10:30:00Z")).toEqual([a.id]);
    expect(await ids("updated_since=2026-11-23T12:30:00%2B01:00")).toEqual([a.id]);
    expect(await ids("updated_since=2026-11-23T06:30:00-05:00")).toEqual([a.id]);
    expect(await ids("updated_until=2026-11-23T12:30:00%2B01:00")).toEqual([b.id]);
    expect(await ids("updated_since=2026-11-23T10:30:00Z&updated_until=2026-11-23T11:30:00Z")).toEqual([b.id]);
  });

  it("decodes a raw + as a space and answers 400 for the unparseable date by default", async () => {
    const { fake } = await start();
    fake.seed("invoices", 3);
    const response = await api("/invoices.json?updated_since=2026-11-23T10:00:00+01:00");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_request" });
  });

  it("ignores the broken filter instead when rawPlusInQuery is ignore-filter", async () => {
    const { fake } = await start({ rawPlusInQuery: "ignore-filter" });
    fake.seed("invoices", 3);
    expect(await list("/invoices.json?updated_since=2099-01-01T00:00:00+01:00")).toHaveLength(3);
    expect(await list("/invoices.json?updated_since=2099-01-01T00:00:00%2B01:00")).toHaveLength(0);
  });

  it("ignores undocumented filters (expenses have no until) and applies equality filters", async () => {
    const { fake } = await start();
    fake.seed("expenses", 3);
    fake.update("expenses", 2, { status: "overdue" });
    expect(await list("/expenses.json?until=2000-01-01T00:00:00Z")).toHaveLength(3);
    expect((await list("/expenses.json?status=overdue")).map((e) => e.id)).toEqual([2]);
  });

  it("renders zoned timestamps with milliseconds and money as decimal strings", async () => {
    const { fake, clock } = await start();
    clock.advance(187);
    fake.create("invoices", { total: "11000", subtotal: 9090.91 });
    const [invoice] = await list("/invoices.json");
    expect(invoice?.created_at).toBe("2026-11-23T11:00:00.187+01:00");
    expect(invoice?.updated_at).toMatch(TIMESTAMP);
    expect(invoice).toMatchObject({ total: "11000.0", subtotal: "9090.91", remaining_amount: "11000.0", status: "open", paid_on: null });
    clock.advance(Date.parse("2027-07-01T08:00:00Z") - clock.now());
    expect(fake.create("subjects").created_at).toBe("2027-07-01T10:00:00.000+02:00");
  });

  // How fast: `npm run bench -- --only=fakes` (speed is the bench's, not a test's).
  it("seeds 100,000 records and serves all their pages of 40", async () => {
    const { fake } = await start({ rateLimit: { quota: 100_000, windowSeconds: 60 } });
    fake.seed("invoices", 100_000);
    const seen = new Set<unknown>();
    for (let page = 1; page <= 200; page += 1) {
      const rows = await list(`/invoices.json?page=${page}&updated_since=2000-01-01T00:00:00Z`);
      expect(rows).toHaveLength(40);
      for (const row of rows) seen.add(row.id);
    }
    expect(seen.size).toBe(8_000);
    expect(await list("/invoices.json?page=2500")).toHaveLength(40);
    expect(await list("/invoices.json?page=2501")).toEqual([]);
  }, 20_000);
});

describe("Fakturoid fake: payments and statuses", () => {
  it("adds partial then full payments: payments[], remaining_amount, status, paid_on and updated_at move", async () => {
    const { fake, clock } = await start();
    const invoice = fake.create("invoices", { total: "12100.0" });
    clock.advance(60_000);
    fake.addPayment("invoices", invoice.id as number, "2100");
    const partial = fake.get("invoices", invoice.id as number);
    expect(partial).toMatchObject({ status: "open", remaining_amount: "10000.0", paid_on: null });
    expect(partial?.payments).toEqual([expect.objectContaining({ amount: "2100.0", paid_on: "2026-11-23" })]);
    expect(partial?.updated_at).toBe("2026-11-23T11:01:00.000+01:00");
    clock.advance(60_000);
    const payment = fake.addPayment("invoices", invoice.id as number);
    expect(payment).toMatchObject({ amount: "10000.0" });
    const paid = await (await api(`/invoices/${invoice.id as number}.json`)).json();
    expect(paid).toMatchObject({ status: "paid", remaining_amount: "0.0", paid_on: "2026-11-23", updated_at: "2026-11-23T11:02:00.000+01:00" });
    expect((await list("/invoices.json?updated_since=2026-11-23T11:01:30%2B01:00")).map((i) => i.id)).toEqual([invoice.id]);
  });

  it("records payments over HTTP and pays expenses", async () => {
    const { fake } = await start();
    const expense = fake.create("expenses", { total: "1210.0" });
    const response = await api(`/expenses/${expense.id as number}/payments.json`, { method: "POST", body: { paid_on: "2026-11-20" } });
    expect(response.status).toBe(201);
    expect(fake.get("expenses", expense.id as number)).toMatchObject({ status: "paid", paid_on: "2026-11-20" });
    const bad = await api(`/expenses/${expense.id as number}/payments.json`, { method: "POST", body: { amount: "lots" } });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({ errors: { amount: [expect.any(String)] } });
  });

  it("supports overdue, cancelled and uncollectible via update(), and paid marks a full payment", async () => {
    const { fake } = await start();
    fake.seed("invoices", 4);
    expect(fake.update("invoices", 1, { status: "overdue" })).toMatchObject({ status: "overdue" });
    expect(fake.update("invoices", 2, { status: "cancelled" })).toMatchObject({ status: "cancelled", cancelled_at: expect.stringMatching(TIMESTAMP) });
    expect(fake.update("invoices", 3, { status: "uncollectible" })).toMatchObject({ status: "uncollectible", uncollectible_at: expect.stringMatching(TIMESTAMP) });
    const paid = fake.update("invoices", 4, { status: "paid" });
    expect(paid).toMatchObject({ status: "paid", remaining_amount: "0.0", paid_on: "2026-11-23" });
    expect(paid.payments).toHaveLength(1);
    expect((await list("/invoices.json?status=overdue")).map((i) => i.id)).toEqual([1]);
  });
});

describe("Fakturoid fake: writes and deletes", () => {
  it("DELETE → 204, then gone from lists and 404 on detail", async () => {
    const { fake } = await start();
    fake.seed("invoices", 3);
    const response = await api("/invoices/2.json", { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    expect((await list("/invoices.json")).map((i) => i.id)).toEqual([3, 1]);
    expect((await api("/invoices/2.json")).status).toBe(404);
    fake.remove("invoices", 3);
    expect((await api("/invoices/3.json")).status).toBe(404);
  });

  it("refuses to delete a locked document with 422 {errors}", async () => {
    const { fake } = await start();
    fake.seed("invoices", 1);
    fake.update("invoices", 1, { locked_at: true });
    const response = await api("/invoices/1.json", { method: "DELETE" });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ errors: { document: [expect.any(String)] } });
    expect(fake.get("invoices", 1)).toBeDefined();
    const patch = await api("/invoices/1.json", { method: "PATCH", body: { custom_id: "X" } });
    expect(patch.status).toBe(403);
    expect(await patch.json()).toMatchObject({ error: "document_locked" });
  });

  it("creates and updates over HTTP and answers 422 {errors} on bad writes", async () => {
    const { fake } = await start();
    const bad = await api("/invoices.json", { method: "POST", body: { issued_on: "yesterday" } });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({ errors: { issued_on: [expect.any(String)], subject_id: [expect.any(String)] } });
    const subject = await (await api("/subjects.json", { method: "POST", body: { name: "ACME s.r.o." } })).json();
    const created = await api("/invoices.json", { method: "POST", body: { subject_id: (subject as Json).id, lines: [{ name: "Work", quantity: 2, unit_price: "5000", vat_rate: 21 }] } });
    expect(created.status).toBe(201);
    const invoice = (await created.json()) as Json;
    expect(invoice).toMatchObject({ subtotal: "10000.0", total: "12100.0", remaining_amount: "12100.0", status: "open" });
    const patched = await api(`/invoices/${invoice.id as number}.json`, { method: "PATCH", body: { custom_id: "X-1", status: "paid" } });
    expect(await patched.json()).toMatchObject({ custom_id: "X-1", status: "open" });
    const badPatch = await api(`/subjects/${(subject as Json).id as number}.json`, { method: "PATCH", body: { name: "" } });
    expect(badPatch.status).toBe(422);
    expect(fake.all("invoices")).toHaveLength(1);
  });

  it("serves 503 and other 5xx on demand through the kit's faults", async () => {
    const { fake } = await start();
    fake.injectFault({ fault: { type: "status", status: 503, body: { error: "service_unavailable", error_description: "Maintenance" } } });
    fake.injectFault({ fault: { type: "status", status: 500 } });
    expect((await api("/invoices.json")).status).toBe(503);
    expect((await api("/invoices.json")).status).toBe(500);
    expect((await api("/invoices.json")).status).toBe(200);
  });
});

describe("Fakturoid fake: inventory", () => {
  it("lists moves flat but serves their detail only nested under the item", async () => {
    const { fake } = await start();
    const item = fake.create("inventory_items");
    const other = fake.create("inventory_items");
    const move = fake.create("inventory_moves", { inventory_item_id: item.id, direction: "out", quantity_change: "2.0" });
    fake.create("inventory_moves", { inventory_item_id: other.id });
    expect(await list("/inventory_moves.json")).toHaveLength(2);
    expect((await list(`/inventory_moves.json?inventory_item_id=${item.id as number}`)).map((m) => m.id)).toEqual([move.id]);
    const detail = await api(`/inventory_items/${item.id as number}/inventory_moves/${move.id as number}.json`);
    expect(await detail.json()).toMatchObject({ id: move.id, inventory_item_id: item.id, direction: "out", quantity_change: "2.0" });
    expect((await api(`/inventory_moves/${move.id as number}.json`)).status).toBe(404);
    expect((await api(`/inventory_items/${other.id as number}/inventory_moves/${move.id as number}.json`)).status).toBe(404);
    const created = await api(`/inventory_items/${item.id as number}/inventory_moves.json`, { method: "POST", body: { direction: "in", quantity_change: "3", moved_on: "2026-11-23" } });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ inventory_item_id: item.id, quantity_change: "3.0" });
    expect((await api(`/inventory_items/${item.id as number}/inventory_moves/${move.id as number}.json`, { method: "DELETE" })).status).toBe(204);
  });
});
