import { startFakturowniaFake } from "../../src/simulators/fakturownia/fake.js";
import { startFacturaScriptsFake } from "../../test/fakes/facturascripts/fake.js";
import { startFakturoidFake } from "../../test/fakes/fakturoid/fake.js";
import { startWfirmaFake } from "../../test/fakes/wfirma/fake.js";
import type { Bench } from "../context.js";
import { round } from "../report.js";

/**
 * The vendor fakes the tests, the chaos suite and the demo run, at scale: seed `records` (100,000
 * in a full run) and serve pages of them over HTTP on 127.0.0.1, in the bench's own process (the
 * fakes are in-process servers). Their tests check what the pages hold; how fast they come is
 * measured here. Rows for context (no floor: nothing but the fake does this work); each shows the
 * seeding, the first page (which may build an index) and the mean of the next 20 pages, against
 * the budget the scale tests and chaos rows were written for (seed ≤ 5–6 s, first page ≤ 3 s,
 * next pages ≤ 50–60 ms; Fakturoid and wFirma: seed and 200 pages ≤ 10 s).
 */

type Json = Record<string, unknown>;

interface Fake {
  url: string;
  close(): Promise<unknown>;
}

interface Vendor<F extends Fake = Fake> {
  name: string;
  budget: string;
  /** Pages to time after the first (the first page's time is shown apart). */
  pages: number;
  /** Starts the fake and seeds `n` records; `headers` are what its pages need (auth). */
  start(n: number): Promise<{ fake: F; headers: Record<string, string> }>;
  /** Page i (1-based): the request, and how many records its answer holds. */
  page(fake: F, i: number): { path: string; method?: string; body?: string; count(answer: unknown): number };
}

async function json(response: Response): Promise<unknown> {
  if (response.status !== 200) throw new Error(`harness check failed: HTTP ${response.status} from ${response.url}`);
  return response.json();
}

const vendor = <F extends Fake>(v: Vendor<F>): Vendor => v as unknown as Vendor;
const length = (answer: unknown): number => (answer as unknown[]).length;

const VENDORS: Vendor[] = [
  vendor({
    name: "fakturownia",
    budget: "seed ≤ 5 s, first page ≤ 3 s, next ≤ 50 ms",
    pages: 20,
    start: async (n) => {
      const fake = await startFakturowniaFake({});
      fake.seed("invoices", n);
      return { fake, headers: {} };
    },
    page: (fake, i) => ({ path: `/invoices.json?period=all&order=updated_at.desc&per_page=100&page=${i}&api_token=${fake.apiToken}`, count: length }),
  }),
  vendor({
    name: "facturascripts",
    budget: "seed ≤ 6 s, first page ≤ 3 s, next ≤ 60 ms",
    pages: 20,
    start: async (n) => {
      const fake = await startFacturaScriptsFake({});
      fake.seed("facturaclientes", n);
      return { fake, headers: { "X-Auth-Token": fake.token } };
    },
    page: (_, i) => ({ path: `/api/3/facturaclientes?filter[idfactura_gt]=0&sort[idfactura]=ASC&limit=100&offset=${(i - 1) * 100}`, count: length }),
  }),
  vendor({
    name: "fakturoid",
    budget: "seed and 200 pages of 40 ≤ 10 s",
    pages: 199,
    start: async (n) => {
      const fake = await startFakturoidFake({ rateLimit: { quota: 1_000_000, windowSeconds: 60 } });
      const agent = "retrohook-bench (ops@example.com)";
      const grant = await fetch(`${fake.url}/api/v3/oauth/token`, {
        method: "POST",
        headers: { "user-agent": agent, authorization: `Basic ${Buffer.from("cid:csecret").toString("base64")}`, "content-type": "application/json" },
        body: JSON.stringify({ grant_type: "client_credentials" }),
      });
      const token = ((await json(grant)) as Json).access_token as string;
      fake.seed("invoices", n);
      return { fake, headers: { "user-agent": agent, authorization: `Bearer ${token}` } };
    },
    page: (_, i) => ({ path: `/api/v3/accounts/acme/invoices.json?page=${i}&updated_since=2000-01-01T00:00:00Z`, count: length }),
  }),
  vendor({
    name: "wfirma",
    budget: "seed and 200 pages of 100 ≤ 10 s",
    pages: 199,
    start: async (n) => {
      const fake = await startWfirmaFake({});
      fake.seed("invoices", n);
      return { fake, headers: { accessKey: "ak", secretKey: "sk", appKey: "app" } };
    },
    page: (_, i) => ({
      path: "/invoices/find?inputFormat=json&outputFormat=json",
      method: "POST",
      body: JSON.stringify({
        invoices: { parameters: { limit: 100, page: i, conditions: [{ condition: { field: "modified", operator: "ge", value: "2000-01-01 00:00:00" } }], order: [{ asc: "modified" }, { asc: "id" }] } },
      }),
      count: (answer) => Object.keys(((answer as Json).invoices ?? {}) as Json).filter((key) => /^\d+$/.test(key)).length,
    }),
  }),
];

export async function fakesScenario(bench: Bench): Promise<void> {
  const n = bench.sizes.records;
  const label = n >= 1000 ? `${n / 1000}k` : String(n);
  for (const vendor of VENDORS) {
    const began = performance.now();
    const { fake, headers } = await vendor.start(n);
    const page = async (i: number): Promise<number> => {
      const { path, method, body, count } = vendor.page(fake, i);
      return count(await json(await fetch(`${fake.url}${path}`, { method: method ?? "GET", headers, body })));
    };
    try {
      const seeded = performance.now();
      const firstCount = await page(1);
      const first = performance.now();
      let served = firstCount;
      for (let i = 2; i <= 1 + vendor.pages; i += 1) served += await page(i);
      const end = performance.now();
      if (firstCount === 0 || served < Math.min(n, firstCount * (1 + vendor.pages))) throw new Error(`harness check failed: fake ${vendor.name} served ${served} records in ${1 + vendor.pages} pages of ${n}`);
      const nextMean = (end - first) / vendor.pages;
      bench.rows.push({
        scenario: `fakes: seed ${label} + ${1 + vendor.pages} pages (${vendor.name})`,
        figure: Math.round(end - began),
        unit: "ms",
        floor: null,
        ratio: null,
        target: null,
        met: null,
        detail: `seed ${Math.round(seeded - began)} ms (with start), first page ${Math.round(first - seeded)} ms, next pages ${round(nextMean, 1)} ms each; the tests' budget: ${vendor.budget}`,
      });
      bench.log(`fakes ${vendor.name}: ${Math.round(end - began)} ms`);
    } finally {
      await fake.close();
    }
  }
}
