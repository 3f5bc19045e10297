import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { POLISH_NOT_FOUND, startWfirmaFake, type WfirmaFake, type WfirmaModule } from "../../../fakes/wfirma/fake.js";
import { fakeOnClock } from "../../../helpers/fake-on-clock.js";

const KEYS = { accessKey: "ak", secretKey: "sk", appKey: "app" };
const JSON_QUERY = "inputFormat=json&outputFormat=json";

type Json = Record<string, unknown>;

const fakes = fakeOnClock(startWfirmaFake);
const start = fakes.start;

interface CallOptions {
  body?: unknown;
  query?: string;
  headers?: Record<string, string>;
  method?: string;
}

async function raw(path: string, options: CallOptions = {}): Promise<Response> {
  const fake = fakes.current();
  const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  return fetch(`${fake.url}${path}?${options.query ?? JSON_QUERY}`, {
    method: options.method ?? "POST",
    headers: { ...KEYS, ...options.headers },
    body,
  });
}

async function call(path: string, options: CallOptions = {}): Promise<Json> {
  const response = await raw(path, options);
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

function code(envelope: Json): unknown {
  return (envelope.status as Json).code;
}

/** Records of a find/get answer, in the numbered order of the envelope. */
function rows(envelope: Json, branch = "invoices", singular = "invoice"): Json[] {
  const container = (envelope[branch] ?? {}) as Json;
  return Object.keys(container)
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => (container[key] as Json)[singular] as Json);
}

function find(module: string, parameters: Json, branch = module): Promise<Json> {
  return call(`/${module}/find`, { body: { [branch]: { parameters } } });
}

function ids(envelope: Json, branch?: string, singular?: string): string[] {
  return rows(envelope, branch, singular).map((row) => row.id as string);
}

function cond(field: string, operator: string, value?: string): Json {
  return { condition: { field, operator, ...(value === undefined ? {} : { value }) } };
}

function walk(value: unknown, visit: (value: unknown, path: string) => void, path = "$"): void {
  visit(value, path);
  if (value !== null && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) walk(child, visit, `${path}.${key}`);
  }
}

describe("wFirma fake: routing and formats", () => {
  it("answers POST /{module}/{action} with JSON when asked", async () => {
    const { fake } = await start();
    fake.seed("invoices", 2);
    const envelope = await find("invoices", {});
    expect(code(envelope)).toBe("OK");
    expect(ids(envelope)).toEqual(["1", "2"]);
  });

  it("accepts GET with a body (fetch cannot send one, so node:http does) and DELETE", async () => {
    const { fake } = await start();
    const created = fake.create("contractors", { name: "ACME" });
    const body = JSON.stringify({ contractors: { parameters: { conditions: [cond("name", "eq", "ACME")] } } });
    const answer = await new Promise<Json>((resolve, reject) => {
      const headers = { ...KEYS, "content-length": String(Buffer.byteLength(body)) };
      const req = request(`${fake.url}/contractors/find?${JSON_QUERY}`, { method: "GET", headers }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve(JSON.parse(text) as Json));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(ids(answer, "contractors", "contractor")).toEqual([created.id]);
    expect(code(await call(`/contractors/delete/${created.id}`, { method: "DELETE" }))).toBe("OK");
    expect(fake.all("contractors")).toEqual([]);
  });

  it("defaults to XML in and out; inputFormat alone sets the output too", async () => {
    const { fake } = await start();
    fake.seed("invoices", 2);
    const xml = await raw("/invoices/find", { query: "" });
    expect(xml.headers.get("content-type")).toContain("xml");
    const text = await xml.text();
    expect(text).toMatch(/^<\?xml/);
    expect(text).toContain("<api><invoices><invoice><id>1</id>");
    expect(text).toContain("<parameters><limit>20</limit><page>1</page><total>2</total></parameters>");
    expect(text).toContain("<status><code>OK</code></status>");

    const followed = await raw("/invoices/find", { query: "inputFormat=json", body: { invoices: { parameters: {} } } });
    expect(((await followed.json()) as Json).status).toEqual({ code: "OK" });
  });

  it("parses XML request bodies (the default input format)", async () => {
    const { fake } = await start();
    fake.seed("invoices", 5);
    const body =
      '<?xml version="1.0"?><api><invoices><parameters><page>1</page><limit>10</limit>' +
      "<conditions><or><condition><field>id</field><operator>eq</operator><value>2</value></condition>" +
      "<condition><field>id</field><operator>eq</operator><value>4</value></condition></or></conditions>" +
      "<order><desc>id</desc></order></parameters></invoices></api>";
    const answer = await call("/invoices/find", { query: "outputFormat=json", body });
    expect(ids(answer)).toEqual(["4", "2"]);
  });

  it("treats a JSON body as malformed XML when inputFormat is not json → INPUT ERROR", async () => {
    await start();
    const answer = await call("/invoices/find", { query: "outputFormat=json", body: { invoices: { parameters: {} } } });
    expect(code(answer)).toBe("INPUT ERROR");
  });

  it("answers INPUT ERROR for malformed JSON and ACTION NOT FOUND for unknown actions or modules, all with HTTP 200", async () => {
    await start();
    expect(code(await call("/invoices/find", { body: "{not json" }))).toBe("INPUT ERROR");
    expect(code(await call("/invoices/explode"))).toBe("ACTION NOT FOUND");
    expect(code(await call("/nonsense/find"))).toBe("ACTION NOT FOUND");
  });
});

describe("wFirma fake: authentication", () => {
  it("accepts the three API key headers and refuses wrong or missing ones with AUTH (HTTP 200)", async () => {
    await start({ authFailuresBeforeLimit: 10 });
    expect(code(await call("/invoices/find"))).toBe("OK");
    expect(code(await call("/invoices/find", { headers: { secretKey: "wrong" } }))).toBe("AUTH");
    const bare = await fetch(`${fakes.current().url}/invoices/find?${JSON_QUERY}`, { method: "POST" });
    expect(bare.status).toBe(200);
    expect(((await bare.json()) as Json).status).toMatchObject({ code: "AUTH" });
  });

  it("accepts Bearer only together with oauth_version=2", async () => {
    await start({ oauthToken: "tok", authFailuresBeforeLimit: 10 });
    const headers = { authorization: "Bearer tok" };
    const noKeys = async (query: string): Promise<Json> => {
      const response = await fetch(`${fakes.current().url}/invoices/find?${query}`, { method: "POST", headers });
      return (await response.json()) as Json;
    };
    expect(code(await noKeys(`${JSON_QUERY}&oauth_version=2`))).toBe("OK");
    expect(code(await noKeys(JSON_QUERY))).toBe("AUTH");
  });

  it("locks out for 5 minutes of the injected clock after N failures, even for good keys", async () => {
    const { clock } = await start({ authFailuresBeforeLimit: 3 });
    for (let i = 0; i < 3; i += 1) expect(code(await call("/invoices/find", { headers: { accessKey: "bad" } }))).toBe("AUTH");
    expect(code(await call("/invoices/find"))).toBe("AUTH FAILED LIMIT WAIT 5 MINUTES");
    clock.advance(4 * 60_000);
    expect(code(await call("/invoices/find"))).toBe("AUTH FAILED LIMIT WAIT 5 MINUTES");
    clock.advance(60_000);
    expect(code(await call("/invoices/find"))).toBe("OK");
  });

  it("requires company_id when the user has several companies", async () => {
    await start({ companies: ["11", "22"] });
    expect(code(await call("/invoices/find"))).toBe("COMPANY ID REQUIRED");
    expect(code(await call("/invoices/find", { query: `${JSON_QUERY}&company_id=22` }))).toBe("OK");
    expect(code(await call("/invoices/find", { query: `${JSON_QUERY}&company_id=33` }))).toBe("ACCESS DENIED");
  });
});

describe("wFirma fake: envelope", () => {
  it("uses numbered objects (never arrays), string scalars, short related records and string parameters", async () => {
    const { fake } = await start();
    const contractor = fake.create("contractors", { name: "Klient" });
    fake.create("invoices", { contractor: { id: contractor.id }, invoicecontents: [{ name: "A", count: 2, price: 10 }, { name: "B", count: 1, price: 5 }] });
    fake.create("invoices", { total: 123.4 });
    const envelope = await find("invoices", { limit: 10 });
    walk(envelope, (value, path) => {
      expect(Array.isArray(value), path).toBe(false);
      if (value === null || typeof value !== "object") expect(typeof value, path).toBe("string");
    });
    const [first, second] = rows(envelope);
    expect(first?.contractor).toEqual({ id: contractor.id });
    expect(Object.keys(first?.invoicecontents as Json)).toEqual(["0", "1"]);
    expect(((first?.invoicecontents as Json)["1"] as Json).invoicecontent).toMatchObject({ name: "B", count: "1", price: "5.00" });
    expect(second).toMatchObject({ total: "123.40", remaining: "123.40", alreadypaid: "0.00", paymentstate: "unpaid" });
    expect((envelope.invoices as Json).parameters).toEqual({ limit: "10", page: "1", total: "2" });
  });

  it("renders created/modified as Europe/Warsaw local time without zone, from the injected clock", async () => {
    const { fake, clock } = await start();
    const winter = fake.create("invoices");
    expect(winter.created).toBe("2026-11-23 11:00:00");
    clock.advance(Date.parse("2027-07-01T21:30:15Z") - clock.now());
    const summer = fake.create("invoices");
    expect(summer.created).toBe("2027-07-01 23:30:15");
    expect(summer.date).toBe("2027-07-01");
  });

  it("gets one record with get/{id}", async () => {
    const { fake } = await start();
    const invoice = fake.create("invoices");
    const answer = await call(`/invoices/get/${invoice.id}`);
    expect(rows(answer)).toEqual([invoice]);
  });
});

describe("wFirma fake: conditions", () => {
  async function seeded(): Promise<WfirmaFake> {
    const { fake } = await start();
    const totals = ["100.00", "250.00", "999.99", "1000.00", "20.00"];
    const names = ["Alfa", "Beta", "alfa bis", "Gamma", ""];
    totals.forEach((total, i) => fake.create("invoices", { total, fullnumber: names[i] }));
    return fake;
  }
  const match = async (conditions: unknown): Promise<string[]> => ids(await find("invoices", { conditions, order: [{ asc: "id" }] }));

  it("implements eq ne gt lt ge le, comparing numeric strings as numbers", async () => {
    await seeded();
    expect(await match({ "0": cond("total", "eq", "250") })).toEqual(["2"]);
    expect(await match({ "0": cond("total", "ne", "250.00") })).toEqual(["1", "3", "4", "5"]);
    expect(await match({ "0": cond("total", "gt", "250") })).toEqual(["3", "4"]);
    expect(await match({ "0": cond("total", "lt", "250") })).toEqual(["1", "5"]);
    expect(await match({ "0": cond("total", "ge", "999.99") })).toEqual(["3", "4"]);
    expect(await match({ "0": cond("total", "le", "100") })).toEqual(["1", "5"]);
  });

  it("implements like, not like (case-insensitive, % and _), is null, is not null and in", async () => {
    await seeded();
    expect(await match({ "0": cond("fullnumber", "like", "alf%") })).toEqual(["1", "3"]);
    expect(await match({ "0": cond("fullnumber", "like", "_eta") })).toEqual(["2"]);
    expect(await match({ "0": cond("fullnumber", "not like", "%a%") })).toEqual([]);
    expect(await match({ "0": cond("fullnumber", "is null") })).toEqual(["5"]);
    expect(await match({ "0": cond("fullnumber", "is not null") })).toEqual(["1", "2", "3", "4"]);
    expect(await match({ "0": cond("id", "in", "2, 4,9") })).toEqual(["2", "4"]);
  });

  it("joins siblings with AND and nests and/or/not; arrays work like numbered objects", async () => {
    await seeded();
    expect(await match({ "0": cond("total", "gt", "50"), "1": cond("total", "lt", "1000") })).toEqual(["1", "2", "3"]);
    expect(await match([cond("total", "gt", "50"), cond("total", "lt", "1000")])).toEqual(["1", "2", "3"]);
    expect(await match({ "0": { or: { "0": cond("id", "eq", "1"), "1": cond("id", "eq", "5") } } })).toEqual(["1", "5"]);
    expect(
      await match({
        "0": { or: [{ and: [cond("total", "ge", "100"), cond("total", "le", "250")] }, cond("id", "eq", "5")] },
        "1": { not: { "0": cond("id", "eq", "2") } },
      }),
    ).toEqual(["1", "5"]);
  });

  it("filters on modified with the documented JSON form and Model.field prefixes", async () => {
    const { fake, clock } = await start();
    fake.create("invoices");
    clock.advance(3_600_000);
    const later = fake.create("invoices");
    const answer = await find("invoices", { conditions: { "0": { condition: { field: "Invoice.modified", operator: "ge", value: later.modified } } } });
    expect(ids(answer)).toEqual([later.id]);
  });

  it("resolves fields of related records (Contractor.nip / ContractorDetail.nip)", async () => {
    const { fake } = await start();
    const contractor = fake.create("contractors", { nip: "1234567890" });
    const invoice = fake.create("invoices", { contractor: { id: contractor.id } });
    fake.create("invoices");
    expect(ids(await find("invoices", { conditions: [cond("ContractorDetail.nip", "eq", "1234567890")] }))).toEqual([invoice.id]);
  });

  it("answers ERROR for unknown fields or operators", async () => {
    await seeded();
    expect(code(await find("invoices", { conditions: [cond("nonsense", "eq", "1")] }))).toBe("ERROR");
    expect(code(await find("invoices", { conditions: [cond("id", "between", "1")] }))).toBe("ERROR");
    expect(code(await find("invoices", { order: [{ asc: "nonsense" }] }))).toBe("ERROR");
  });
});

describe("wFirma fake: order", () => {
  it("orders by modified then id (documented form) with ties broken as asked", async () => {
    const { fake, clock } = await start();
    fake.seed("invoices", 3);
    const a = fake.create("invoices");
    const b = fake.create("invoices");
    clock.advance(1000);
    fake.update("invoices", "1", { fullnumber: "touched" });
    const answer = await find("invoices", { order: { "0": { asc: "modified" }, "1": { asc: "id" } } });
    expect(ids(answer)).toEqual(["2", "3", a.id, b.id, "1"]);
    const desc = await find("invoices", { order: { "0": { desc: "modified" }, "1": { desc: "id" } } });
    expect(ids(desc)).toEqual(["1", b.id, a.id, "3", "2"]);
  });

  it("orders numerically by id and remaining, and by date/created, accepting several order shapes", async () => {
    const { fake, clock } = await start();
    fake.seed("invoices", 12);
    expect(ids(await find("invoices", { order: "id desc", limit: 3 }))).toEqual(["12", "11", "10"]);
    expect(ids(await find("invoices", { order: [{ asc: "id" }], limit: 3, page: 4 }))).toEqual(["10", "11", "12"]);
    fake.update("invoices", "5", { total: "5.00" });
    fake.update("invoices", "7", { total: "10000.00" });
    const byRemaining = ids(await find("invoices", { order: { asc: ["remaining", "id"] }, limit: 100 }));
    expect(byRemaining[0]).toBe("5");
    expect(byRemaining[11]).toBe("7");
    clock.advance(86_400_000 * 3);
    const newest = fake.create("invoices", { date: "2020-01-01" });
    expect(ids(await find("invoices", { order: { desc: "created" }, limit: 1 }))).toEqual([newest.id]);
    expect(ids(await find("invoices", { order: { asc: "date", desc: "id" }, limit: 1 }))).toEqual([newest.id]);
  });
});

describe("wFirma fake: pagination", () => {
  it("pages with page/limit, echoes total, counts with limit 0, clamps to maxLimit and ends with an empty page", async () => {
    const { fake } = await start({ maxLimit: 100 });
    fake.seed("invoices", 250);
    const count = await find("invoices", { limit: 0 });
    expect(rows(count)).toEqual([]);
    expect((count.invoices as Json).parameters).toEqual({ limit: "0", page: "1", total: "250" });

    const clamped = await find("invoices", { limit: 500 });
    expect(rows(clamped)).toHaveLength(100);
    expect((clamped.invoices as Json).parameters).toEqual({ limit: "100", page: "1", total: "250" });

    const seen: string[] = [];
    for (let page = 1; ; page += 1) {
      const answer = await find("invoices", { limit: 100, page, order: [{ asc: "id" }] });
      const pageIds = ids(answer);
      seen.push(...pageIds);
      if (pageIds.length < 100) break;
    }
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
    expect(rows(await find("invoices", { limit: 100, page: 4 }))).toEqual([]);
    expect(rows(await find("invoices", {}))).toHaveLength(20);
  });

  // How fast: `npm run bench -- --only=fakes` (speed is the bench's, not a test's).
  it("serves pages of a 100,000-record module, in the order asked, without repeats", async () => {
    const { fake } = await start();
    fake.seed("invoices", 100_000);
    const seen = new Set<unknown>();
    const cursor = "2000-01-01 00:00:00";
    let total = 0;
    for (let page = 1; page <= 200; page += 1) {
      const answer = await find("invoices", { limit: 100, page, conditions: [cond("modified", "ge", cursor)], order: [{ asc: "modified" }, { asc: "id" }] });
      total = Number(((answer.invoices as Json).parameters as Json).total);
      expect(rows(answer)).toHaveLength(100);
      for (const row of rows(answer)) seen.add(row.id);
    }
    expect(total).toBe(100_000);
    expect(seen.size).toBe(20_000);
  }, 20_000);
});

describe("wFirma fake: writes, payments and deletes", () => {
  it("adds and edits over HTTP, bumping modified on every write", async () => {
    const { fake, clock } = await start();
    const added = await call("/invoices/add", { body: { invoices: { "0": { invoice: { total: "500", fullnumber: "FV 1/2026" } } } } });
    const invoice = rows(added)[0] as Json;
    expect(invoice).toMatchObject({ total: "500.00", remaining: "500.00", paymentstate: "unpaid", created: "2026-11-23 11:00:00", modified: "2026-11-23 11:00:00" });
    clock.advance(90_000);
    const edited = await call(`/invoices/edit/${invoice.id as string}`, { body: { invoices: { "0": { invoice: { description: "x", modified: "1999-01-01 00:00:00" } } } } });
    expect(rows(edited)[0]).toMatchObject({ description: "x", modified: "2026-11-23 11:01:30", created: "2026-11-23 11:00:00" });
    clock.advance(1000);
    expect(fake.update("invoices", invoice.id as string, { total: "600" })).toMatchObject({ modified: "2026-11-23 11:01:31", remaining: "600.00" });
  });

  it("keeps alreadypaid/remaining/paymentstate consistent when payments/add targets an invoice", async () => {
    const { fake, clock } = await start();
    const invoice = fake.create("invoices", { total: "1230.00" });
    clock.advance(60_000);
    const partial = await call("/payments/add", { body: { payments: { "0": { payment: { object_name: "invoice", object_id: invoice.id, value: "230", date: "2026-11-23" } } } } });
    expect(code(partial)).toBe("OK");
    expect(rows(partial, "payments", "payment")[0]).toMatchObject({ object_name: "invoice", object_id: invoice.id, value: "230.00", date: "2026-11-23" });
    expect(fake.get("invoices", invoice.id as string)).toMatchObject({ alreadypaid: "230.00", remaining: "1000.00", paymentstate: "unpaid", modified: "2026-11-23 11:01:00" });
    clock.advance(60_000);
    const rest = fake.addPayment("invoice", invoice.id as string, "1000.00");
    expect(fake.get("invoices", invoice.id as string)).toMatchObject({ alreadypaid: "1230.00", remaining: "0.00", paymentstate: "paid", modified: "2026-11-23 11:02:00" });

    const viaFind = await find("invoices", { conditions: [cond("modified", "ge", "2026-11-23 11:02:00")] });
    expect(rows(viaFind)[0]).toMatchObject({ paymentstate: "paid", remaining: "0.00" });
    const payments = await find("payments", { conditions: [cond("object_id", "eq", invoice.id as string), cond("object_name", "eq", "invoice")] });
    expect(rows(payments, "payments", "payment")).toHaveLength(2);

    await call(`/payments/delete/${rest.id as string}`);
    expect(fake.get("invoices", invoice.id as string)).toMatchObject({ alreadypaid: "230.00", remaining: "1000.00", paymentstate: "unpaid" });
  });

  it("keeps expenses' alreadypaid/remaining consistent with payments", async () => {
    const { fake } = await start();
    const expense = fake.create("expenses", { brutto: "615.00" });
    expect(expense).toMatchObject({ brutto: "615.00", alreadypaid: "0.00", remaining: "615.00" });
    fake.addPayment("expense", expense.id as string, "15");
    expect(fake.get("expenses", expense.id as string)).toMatchObject({ alreadypaid: "15.00", remaining: "600.00" });
    fake.addPayment("expense", expense.id as string, "600");
    expect(fake.get("expenses", expense.id as string)).toMatchObject({ alreadypaid: "615.00", remaining: "0.00" });
  });

  it("answers ERROR with the record echoed and errors attached for invalid writes", async () => {
    await start();
    const answer = await call("/payments/add", { body: { payments: { "0": { payment: { object_name: "invoice", object_id: "404", value: "abc" } } } } });
    expect(code(answer)).toBe("ERROR");
    const echoed = rows(answer, "payments", "payment")[0] as Json;
    const errors = Object.values(echoed.errors as Json).map((entry) => (entry as Json).error as Json);
    expect(errors.map((e) => e.field).sort()).toEqual(["object_id", "value"]);
    expect(errors[0]).toHaveProperty("message");
    expect(errors[0]).toHaveProperty("method");
  });

  it("hard-deletes: get afterwards is NOT FOUND (optionally the Polish sentence) and find no longer counts it", async () => {
    const { fake } = await start();
    fake.seed("expenses", 3);
    expect(code(await call("/expenses/delete/2"))).toBe("OK");
    expect(fake.get("expenses", "2")).toBeUndefined();
    expect(code(await call("/expenses/get/2"))).toBe("NOT FOUND");
    const listed = await find("expenses", {});
    expect(ids(listed, "expenses", "expense")).toEqual(["1", "3"]);
    expect(((listed.expenses as Json).parameters as Json).total).toBe("2");
    fake.setPolishNotFound(true);
    expect(code(await call("/expenses/get/2"))).toBe(POLISH_NOT_FOUND);
    fake.remove("expenses", "3");
    expect(code(await call("/expenses/get/3"))).toBe(POLISH_NOT_FOUND);
  });
});

describe("wFirma fake: switchable failures", () => {
  it.each(["TOTAL REQUESTS LIMIT EXCEEDED", "TOTAL EXECUTION TIME LIMIT EXCEEDED", "OUT OF SERVICE", "SNAPSHOT LOCK", "FATAL"])("forces %s in the body with HTTP 200", async (forced) => {
    const { fake } = await start();
    fake.setStatus(forced);
    expect(code(await call("/invoices/find"))).toBe(forced);
    expect(code(await call("/invoices/find"))).toBe(forced);
    fake.setStatus(null);
    expect(code(await call("/invoices/find"))).toBe("OK");
  });

  it("limits a forced status to a number of requests and to one module", async () => {
    const { fake } = await start();
    fake.setStatus("TOTAL REQUESTS LIMIT EXCEEDED", { times: 1, module: "expenses" });
    expect(code(await call("/invoices/find"))).toBe("OK");
    expect(code(await call("/expenses/find"))).toBe("TOTAL REQUESTS LIMIT EXCEEDED");
    expect(code(await call("/expenses/find"))).toBe("OK");
  });

  it("still serves real 429/5xx/HTML replies through the kit's faults", async () => {
    const { fake } = await start();
    fake.injectFault({ fault: { type: "status", status: 429, body: "slow down" } });
    fake.injectFault({ fault: { type: "status", status: 503 } });
    fake.injectFault({ fault: { type: "html" } });
    expect((await raw("/invoices/find")).status).toBe(429);
    expect((await raw("/invoices/find")).status).toBe(503);
    const html = await raw("/invoices/find");
    expect(html.headers.get("content-type")).toContain("text/html");
    expect(code(await call("/invoices/find"))).toBe("OK");
  });
});

describe("wFirma fake: warehouse documents", () => {
  const WAREHOUSE: WfirmaModule[] = [
    "warehouse_document_p_z",
    "warehouse_document_w_z",
    "warehouse_document_r_w",
    "warehouse_document_p_w",
    "warehouse_document_z_d",
    "warehouse_document_z_p_d",
    "warehouse_document_z_p_m",
    "warehouse_document_r",
  ];

  it("exposes one module per type under the warehouse_documents → warehouse_document branch", async () => {
    const { fake } = await start();
    for (const module of WAREHOUSE) fake.seed(module, 2);
    const labels: string[] = [];
    for (const module of WAREHOUSE) {
      const answer = await find(module, { limit: 10 }, "warehouse_documents");
      const docs = rows(answer, "warehouse_documents", "warehouse_document");
      expect(docs).toHaveLength(2);
      expect(((answer.warehouse_documents as Json).parameters as Json).total).toBe("2");
      labels.push(docs[0]?.type as string);
      const lines = docs[0]?.warehouse_document_contents as Json;
      expect((lines["0"] as Json).warehouse_document_content).toMatchObject({ good: { id: "0" } });
      expect(docs[0]).toHaveProperty("created");
      expect(docs[0]).toHaveProperty("modified");
    }
    expect(labels).toEqual(["PZ", "WZ", "RW", "PW", "ZD", "ZPD", "ZPM", "R"]);
    expect(code(await call(`/warehouse_document_w_z/get/1`))).toBe("NOT FOUND");
    expect(code(await call(`/warehouse_document_p_z/get/1`))).toBe("OK");
  });
});
