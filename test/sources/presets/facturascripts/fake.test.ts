import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFacturaScriptsFake, type FacturaScriptsFake, type FacturaScriptsFakeOptions } from "../../../fakes/facturascripts/fake.js";

type Row = Record<string, unknown>;

const START = Date.parse("2026-11-23T10:00:00Z");
let clock = START;
let fake: FacturaScriptsFake;

async function restart(options: FacturaScriptsFakeOptions = {}): Promise<void> {
  await fake.close();
  fake = await startFacturaScriptsFake({ now: () => clock, ...options });
}

beforeEach(async () => {
  clock = START;
  fake = await startFacturaScriptsFake({ now: () => clock });
});

afterEach(async () => {
  await fake.close();
});

interface Call {
  method?: string;
  token?: string | null;
  headers?: Record<string, string>;
  form?: Record<string, string | number>;
  json?: unknown;
}

async function api(path: string, call: Call = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = { ...call.headers };
  const token = call.token === undefined ? fake.token : call.token;
  if (token !== null) headers["X-Auth-Token"] = token;
  let body: string | undefined;
  if (call.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(Object.entries(call.form).map(([k, v]): [string, string] => [k, String(v)])).toString();
  } else if (call.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(call.json);
  }
  const response = await fetch(`${fake.url}${path}`, { method: call.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : (JSON.parse(text) as unknown), headers: response.headers };
}

async function rows(path: string): Promise<Row[]> {
  const { status, body } = await api(path);
  expect(status).toBe(200);
  expect(Array.isArray(body)).toBe(true);
  return body as Row[];
}

async function ids(path: string, key = "idfactura"): Promise<unknown[]> {
  return (await rows(path)).map((r) => r[key]);
}

describe("FacturaScripts fake: gatekeeper", () => {
  it("accepts X-Auth-Token or Token; rejects Bearer and ?token= with 401 {status,message}", async () => {
    expect((await api("/api/3/clientes")).status).toBe(200);
    expect((await api("/api/3/clientes", { token: null, headers: { Token: fake.token } })).status).toBe(200);
    const bearer = await api("/api/3/clientes", { token: null, headers: { Authorization: `Bearer ${fake.token}` } });
    expect(bearer).toMatchObject({ status: 401, body: { status: "error", message: expect.any(String) } });
    expect((await api(`/api/3/clientes?token=${fake.token}`, { token: null })).status).toBe(401);
  });

  it("lists resources at /api/3, 404s unknown and singular names, 400s a missing or other version", async () => {
    const root = (await api("/api/3")).body as { resources: string[] };
    expect(root.resources).toEqual(expect.arrayContaining(["facturaclientes", "facturaproveedores", "logmessages", "pagarFacturaCliente"]));
    expect(await api("/api/3/facturacliente")).toMatchObject({ status: 404, body: { status: "error", message: "invalid API resource" } });
    expect(await api("/api/3/webhooks")).toMatchObject({ status: 404 });
    expect(await api("/api")).toMatchObject({ status: 400, body: { status: "error" } });
    expect(await api("/api/2/facturaclientes")).toMatchObject({ status: 400, body: { status: "error" } });
  });

  it("answers 403 when a key lacks the resource or method, and 409 when the API is disabled", async () => {
    await restart({ keys: { reader: { allow: { facturaclientes: ["get"] } } } });
    expect((await api("/api/3/facturaclientes", { token: "reader" })).status).toBe(200);
    expect(await api("/api/3/clientes", { token: "reader" })).toMatchObject({ status: 403, body: { status: "error" } });
    expect((await api("/api/3/facturaclientes", { token: "reader", form: { codcliente: "1" } })).status).toBe(403);
    fake.setApiDisabled(true);
    expect(await api("/api/3/facturaclientes")).toMatchObject({ status: 409, body: { status: "error" } });
  });

  it("answers CORS preflight without auth", async () => {
    const response = await fetch(`${fake.url}/api/3/facturaclientes`, { method: "OPTIONS", headers: { "Access-Control-Request-Headers": "x-auth-token" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-headers")).toBe("x-auth-token");
  });

  it("bans the IP after 5 failures within 600 s: 429 without Retry-After even for a valid key", async () => {
    await restart({ keys: { reader: { allow: { facturaclientes: ["get"] } } } });
    for (let i = 0; i < 4; i++) expect((await api("/api/3/facturaclientes", { token: "bad" })).status).toBe(401);
    expect((await api("/api/3/clientes", { token: "reader" })).status).toBe(403);
    expect(fake.incidents()).toBe(5);
    const banned = await api("/api/3/facturaclientes");
    expect(banned.status).toBe(429);
    expect(banned.headers.get("retry-after")).toBeNull();
    expect(banned.body).toMatchObject({ status: "error", message: expect.any(String) });
    expect(fake.incidents()).toBe(5);
    clock += 600_000;
    expect(fake.incidents()).toBe(0);
    expect((await api("/api/3/facturaclientes")).status).toBe(200);
  });

  it("lets the kit script 5xx and HTML replies", async () => {
    fake.injectFault({ fault: { type: "status", status: 503, headers: { "content-type": "text/html" }, body: "<html>Service Unavailable</html>" } });
    fake.injectFault({ fault: { type: "html" } });
    const unavailable = await fetch(`${fake.url}/api/3/facturaclientes`, { headers: { "X-Auth-Token": fake.token } });
    expect([unavailable.status, await unavailable.text()]).toEqual([503, "<html>Service Unavailable</html>"]);
    const html = await fetch(`${fake.url}/api/3/facturaclientes`, { headers: { "X-Auth-Token": fake.token } });
    expect(html.headers.get("content-type")).toBe("text/html");
  });
});

describe("FacturaScripts fake: list queries", () => {
  beforeEach(async () => {
    await restart({ stableOrder: true });
    fake.create("clientes", { codcliente: "C1", nombre: "Alfa" });
    fake.create("clientes", { codcliente: "C2", nombre: "Beta" });
    const dates = ["01-05-2026", "02-05-2026", "03-05-2026", "10-05-2026", "20-05-2026"];
    dates.forEach((fecha, i) => fake.create("facturaclientes", { fecha, codcliente: i % 2 === 0 ? "C1" : "C2", total: (i + 1) * 100, numero: String([1, 2, 10, 11, 3][i]) }));
    fake.payInvoice("facturaclientes", 2);
    fake.payInvoice("facturaclientes", 4);
  });

  it("supports every filter suffix and returns X-Total-Count", async () => {
    const list = await api("/api/3/facturaclientes?filter[total_gt]=200&sort[idfactura]=ASC");
    expect(list.headers.get("x-total-count")).toBe("3");
    expect((list.body as Row[]).map((r) => r.idfactura)).toEqual([3, 4, 5]);
    expect(await ids("/api/3/facturaclientes?filter[total_gte]=200&filter[total_lt]=500&sort[idfactura]=ASC")).toEqual([2, 3, 4]);
    expect(await ids("/api/3/facturaclientes?filter[total_lte]=200&sort[idfactura]=ASC")).toEqual([1, 2]);
    expect(await ids("/api/3/facturaclientes?filter[codcliente_neq]=C1&sort[idfactura]=ASC")).toEqual([2, 4]);
    expect(await ids("/api/3/facturaclientes?filter[codcliente]=c2&sort[idfactura]=ASC")).toEqual([2, 4]);
    expect(await ids("/api/3/facturaclientes?filter[nombrecliente_like]=LF&sort[idfactura]=ASC")).toEqual([1, 3, 5]);
    expect(await ids("/api/3/facturaclientes?filter[nombrecliente_like]=b%25&sort[idfactura]=ASC")).toEqual([2, 4]);
    fake.update("facturaclientes", 3, { femail: "2026-05-04" });
    expect(await ids("/api/3/facturaclientes?filter[femail_notnull]=&sort[idfactura]=ASC")).toEqual([3]);
    expect(await ids("/api/3/facturaclientes?filter[femail_null]=x&sort[idfactura]=ASC")).toEqual([1, 2, 4, 5]);
    expect(await ids("/api/3/facturaclientes?filter[femail_is]=NULL&sort[idfactura]=ASC")).toEqual([1, 2, 4, 5]);
    expect(await ids("/api/3/facturaclientes?filter[femail_isnot]=NULL&sort[idfactura]=ASC")).toEqual([3]);
  });

  it("combines with operation[...]=OR (AND binds tighter) and sorts with prefixes", async () => {
    expect(await ids("/api/3/facturaclientes?filter[idfactura]=1&filter[total]=500&operation[total]=OR&sort[idfactura]=ASC")).toEqual([1, 5]);
    expect(await ids("/api/3/facturaclientes?filter[codcliente]=C1&filter[total_gt]=100&filter[idfactura]=2&operation[idfactura]=OR&sort[idfactura]=ASC")).toEqual([2, 3, 5]);
    expect(await ids("/api/3/facturaclientes?sort[numero]=ASC")).toEqual([1, 3, 4, 2, 5]);
    expect(await ids("/api/3/facturaclientes?sort[integer:numero]=ASC")).toEqual([1, 2, 5, 3, 4]);
    expect(await ids("/api/3/facturaclientes?sort[codcliente]=DESC&sort[total]=ASC")).toEqual([2, 4, 1, 3, 5]);
    expect(await ids("/api/3/facturaclientes?sort[lower:codcliente]=ASC&sort[idfactura]=desc")).toEqual([5, 3, 1, 4, 2]);
  });

  it("pages with limit (default 50; 0, negative or non-numeric = all, offset ignored) and offset", async () => {
    fake.seed("facturaclientes", 95);
    expect(await rows("/api/3/facturaclientes?sort[idfactura]=ASC")).toHaveLength(50);
    const page = await api("/api/3/facturaclientes?sort[idfactura]=ASC&limit=10&offset=90");
    expect((page.body as Row[]).map((r) => r.idfactura)).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    expect(page.headers.get("x-total-count")).toBe("100");
    for (const limit of ["0", "-1", "abc"]) expect(await rows(`/api/3/facturaclientes?limit=${limit}&offset=40`)).toHaveLength(100);
    expect(await rows("/api/3/facturaclientes?limit=10&offset=500")).toEqual([]);
  });

  it("renders dates dd-mm-YYYY, booleans, numbers; filters take both date forms; pagada=true returns unpaid rows", async () => {
    const [first] = await rows("/api/3/facturaclientes?filter[idfactura]=2");
    expect(first).toMatchObject({ fecha: "02-05-2026", pagada: true, vencida: false, total: 200, editable: true });
    expect(first?.hora).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    expect(first).not.toHaveProperty("creationdate");
    expect(await ids("/api/3/facturaclientes?filter[fecha_gte]=2026-05-03&sort[idfactura]=ASC")).toEqual([3, 4, 5]);
    expect(await ids("/api/3/facturaclientes?filter[fecha_gte]=03-05-2026&sort[idfactura]=ASC")).toEqual([3, 4, 5]);
    expect(await ids("/api/3/facturaclientes?filter[fecha_gt]=not-a-date")).toHaveLength(5);
    expect(await ids("/api/3/facturaclientes?filter[pagada]=1&sort[idfactura]=ASC")).toEqual([2, 4]);
    expect(await ids("/api/3/facturaclientes?filter[pagada]=0&sort[idfactura]=ASC")).toEqual([1, 3, 5]);
    expect(await ids("/api/3/facturaclientes?filter[pagada]=true&sort[idfactura]=ASC")).toEqual([1, 3, 5]);
  });

  it("v2026.6 rejects unknown filter/sort fields with 400; v2025.81 answers 200 [] with count 0", async () => {
    expect(await api("/api/3/facturaclientes?filter[creationdate_gt]=2026-01-01")).toMatchObject({ status: 400, body: { error: "api: fields not allowed: creationdate" } });
    expect(await api("/api/3/facturaclientes?sort[lastupdate]=DESC")).toMatchObject({ status: 400, body: { error: "api: fields not allowed: lastupdate" } });
    await restart({ version: "2025.81" });
    fake.create("facturaclientes");
    const legacy = await api("/api/3/facturaclientes?filter[creationdate_gt]=2026-01-01");
    expect(legacy.status).toBe(200);
    expect(legacy.body).toEqual([]);
    expect(legacy.headers.get("x-total-count")).toBe("0");
  });
});

describe("FacturaScripts fake: ordering switch", () => {
  it("without sort lists in no defined order unless stableOrder is on", async () => {
    fake.seed("productos", 30);
    const pkOrder = Array.from({ length: 30 }, (_, i) => i + 1);
    const unordered = await ids("/api/3/productos?limit=0", "idproducto");
    expect(unordered).not.toEqual(pkOrder);
    expect([...unordered].sort((a, b) => Number(a) - Number(b))).toEqual(pkOrder);
    expect(await ids("/api/3/productos?limit=0&sort[idproducto]=ASC", "idproducto")).toEqual(pkOrder);
    await restart({ stableOrder: true });
    fake.seed("productos", 30);
    expect(await ids("/api/3/productos?limit=0", "idproducto")).toEqual(pkOrder);
  });
});

describe("FacturaScripts fake: writes", () => {
  it("creates from form bodies answering {ok,data}, refuses JSON bodies and duplicates", async () => {
    const created = await api("/api/3/clientes", { form: { codcliente: "ACME", nombre: "Acme S.L.", cifnif: "B12345678" } });
    expect(created).toMatchObject({ status: 200, body: { ok: expect.any(String), data: { codcliente: "ACME", nombre: "Acme S.L.", debaja: false } } });
    expect((await api("/api/3/clientes", { json: { codcliente: "JSON", nombre: "X" } })).status).toBe(400);
    expect(await api("/api/3/clientes", { form: { codcliente: "ACME", nombre: "Otra" } })).toMatchObject({ status: 400, body: { error: expect.any(String) } });
    const invoice = await api("/api/3/facturaclientes", { form: { codcliente: "ACME", total: "121", fecha: "2026-11-20" } });
    expect(invoice.body).toMatchObject({ data: { idfactura: 1, nombrecliente: "Acme S.L.", fecha: "20-11-2026", codigo: "FAC2026A1", pagada: false } });
    const updated = await api("/api/3/facturaclientes/1", { method: "PUT", form: { observaciones: "urgente" } });
    expect(updated.body).toMatchObject({ data: { observaciones: "urgente" } });
  });

  it("hard-deletes with cascade; later GET is 404 {error}; issued invoices cannot be deleted", async () => {
    const invoice = fake.create("facturaclientes", { total: 50 });
    fake.payInvoice("facturaclientes", invoice.idfactura as number);
    expect(await rows("/api/3/reciboclientes")).toHaveLength(1);
    expect(await rows("/api/3/pagoclientes")).toHaveLength(1);
    const deleted = await api("/api/3/facturaclientes/1", { method: "DELETE" });
    expect(deleted).toMatchObject({ status: 200, body: { ok: expect.any(String), data: { idfactura: 1 } } });
    expect(await api("/api/3/facturaclientes/1")).toMatchObject({ status: 404, body: { error: "Registro no encontrado" } });
    expect(await rows("/api/3/reciboclientes")).toEqual([]);
    expect(await rows("/api/3/pagoclientes")).toEqual([]);
    fake.create("facturaclientes", { editable: false, idestado: 12 });
    expect(await api("/api/3/facturaclientes/2", { method: "DELETE" })).toMatchObject({ status: 400, body: { error: expect.any(String) } });
  });

  it("never reuses serial ids, refills codigo gaps, and keeps one sequence per invoice table", async () => {
    fake.create("facturaclientes", { fecha: "2026-11-01" });
    const second = fake.create("facturaclientes", { fecha: "2026-11-02", hora: "09:30:00" });
    fake.create("facturaclientes", { fecha: "2026-11-03" });
    fake.remove("facturaclientes", 2);
    const refill = fake.create("facturaclientes");
    expect(refill).toMatchObject({ idfactura: 4, codigo: second.codigo, fecha: "02-11-2026", hora: "09:30:00" });
    expect(fake.create("facturaproveedores")).toMatchObject({ idfactura: 1 });
  });

  it("has no created/updated columns on documents; productos.actualizado changes on every save", async () => {
    const invoice = fake.create("facturaclientes");
    expect(Object.keys(invoice).filter((k) => /creat|updat|modif/.test(k))).toEqual([]);
    fake.create("productos", { referencia: "TORN6" });
    expect((fake.get("productos", 1) as Row).actualizado).toBe("23-11-2026 11:00:00");
    clock += 65_000;
    await api("/api/3/productos/1", { method: "PUT", form: { precio: "2.5" } });
    expect((await rows("/api/3/productos"))[0]).toMatchObject({ precio: 2.5, actualizado: "23-11-2026 11:01:05" });
    expect(await ids("/api/3/productos?filter[actualizado_gt]=23-11-2026 11:00:30", "idproducto")).toEqual([1]);
  });
});

describe("FacturaScripts fake: payments", () => {
  it("pagarFacturaCliente pays receipts, adds a payment row and sets pagada", async () => {
    fake.create("facturaclientes", { total: 121, fecha: "2026-11-10" });
    const response = await api("/api/3/pagarFacturaCliente/1", { form: { pagada: 1, fechapago: "2026-11-22" } });
    expect(response).toMatchObject({ status: 200, body: { data: { idfactura: 1, pagada: true } } });
    expect(await rows("/api/3/reciboclientes?filter[idfactura]=1")).toEqual([expect.objectContaining({ pagado: true, fechapago: "22-11-2026", importe: 121, codigofactura: "FAC2026A1" })]);
    const [payment] = await rows("/api/3/pagoclientes");
    expect(payment).toMatchObject({ idpago: 1, idrecibo: 1, importe: 121, fecha: "22-11-2026", hora: "11:00:00" });
    expect((await api("/api/3/pagarFacturaCliente/1", { form: { pagada: 1 } })).body).toMatchObject({ ok: "no-changes" });
    expect(await api("/api/3/pagarFacturaCliente/1", { form: { fechapago: "x" } })).toMatchObject({ status: 400 });
    expect(await api("/api/3/pagarFacturaCliente/99", { form: { pagada: 1 } })).toMatchObject({ status: 404 });
  });

  it("sets pagada only when all receipts are paid; unpaying adds a negative payment row", async () => {
    fake.create("facturaproveedores", { total: 100 });
    fake.update("reciboproveedores", 1, { importe: 60 });
    fake.create("reciboproveedores", { idfactura: 1, importe: 40 });
    await api("/api/3/reciboproveedores/1", { method: "PUT", form: { pagado: "1" } });
    expect(fake.get("facturaproveedores", 1)).toMatchObject({ pagada: false });
    await api("/api/3/reciboproveedores/2", { method: "PUT", form: { pagado: "1" } });
    expect(fake.get("facturaproveedores", 1)).toMatchObject({ pagada: true });
    await api("/api/3/pagarFacturaProveedor/1", { form: { pagada: "0" } });
    expect(fake.get("facturaproveedores", 1)).toMatchObject({ pagada: false });
    expect((await rows("/api/3/pagoproveedores?sort[idpago]=ASC")).map((p) => [p.idpago, p.idrecibo, p.importe])).toEqual([
      [1, 1, 60],
      [2, 2, 40],
      [3, 1, -60],
      [4, 2, -40],
    ]);
  });
});

describe("FacturaScripts fake: audit feed", () => {
  it("logs updates (info) and deletions (warning) of invoices and delivery notes, nothing for creations, payments, customers or products", async () => {
    fake.create("clientes", { nombre: "Alfa" });
    fake.create("productos", { referencia: "X1" });
    fake.create("facturaclientes", { total: 100 });
    fake.create("facturaproveedores", { total: 10 });
    fake.create("albaranclientes");
    fake.payInvoice("facturaclientes", 1);
    fake.update("clientes", "1", { nombre: "Alfa 2" });
    fake.update("productos", 1, { precio: 3 });
    expect(await rows("/api/3/logmessages")).toEqual([]);

    await api("/api/3/facturaclientes/1", { method: "PUT", form: { total: "121", observaciones: "<b>\"x\"</b>" } });
    fake.update("facturaproveedores", 1, { numproveedor: "B-3391" });
    fake.remove("albaranclientes", 1);
    const feed = await rows("/api/3/logmessages?filter[id_gt]=0&sort[id]=ASC");
    expect(feed.map((e) => [e.id, e.level, e.channel, e.model, e.modelcode])).toEqual([
      [1, "info", "audit", "FacturaCliente", "1"],
      [2, "info", "docs", "FacturaProveedor", "1"],
      [3, "warning", "docs", "AlbaranCliente", "1"],
    ]);
    expect(feed[0]?.context).toBe("{&quot;total&quot;:121,&quot;observaciones&quot;:&quot;&lt;b&gt;\\&quot;x\\&quot;&lt;/b&gt;&quot;}");
    expect(feed[0]?.time).toBe("23-11-2026 11:00:00");
    expect(feed[0]?.message).toEqual(expect.any(String));
    expect(await ids("/api/3/logmessages?filter[model]=FacturaCliente&filter[id_gt]=0&sort[id]=ASC", "id")).toEqual([1]);
    expect(await ids("/api/3/logmessages?filter[model]=FacturaProveedor&filter[id_gt]=1&sort[id]=ASC", "id")).toEqual([2]);
  });
});

describe("FacturaScripts fake: scale", () => {
  // How fast: `npm run bench -- --only=fakes` (speed is the bench's, not a test's).
  it("seeds 100,000 invoices and serves pages of 100 from them, in key order", async () => {
    fake.seed("facturaclientes", 100_000);
    const first = await api("/api/3/facturaclientes?filter[idfactura_gt]=0&sort[idfactura]=ASC&limit=100");
    expect(first.headers.get("x-total-count")).toBe("100000");
    expect((first.body as Row[]).map((r) => r.idfactura)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    for (let offset = 100; offset <= 2_000; offset += 100) {
      expect(await ids(`/api/3/facturaclientes?filter[idfactura_gt]=0&sort[idfactura]=ASC&limit=100&offset=${offset}`)).toEqual(Array.from({ length: 100 }, (_, i) => offset + i + 1));
    }
    expect(await rows("/api/3/pagoclientes?filter[idpago_gt]=33000&sort[idpago]=ASC&limit=0")).toHaveLength(334);
  }, 30_000);
});
