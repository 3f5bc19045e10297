import { startFakeRest, type FakeRest } from "../../helpers/fake-rest.js";
import { startFacturaScriptsFake, type FacturaScriptsFake } from "../../fakes/facturascripts/fake.js";
import { startFakturoidFake, type FakturoidFake } from "../../fakes/fakturoid/fake.js";
import { startFakturowniaFake, type FakturowniaFake } from "../../../src/simulators/fakturownia/fake.js";
import { startWfirmaFake, type WfirmaFake } from "../../fakes/wfirma/fake.js";
import type { ProxiedRequest, TransformContext } from "./proxy.js";
import { restSource } from "./config.js";
import { SECRETS } from "./secrets.js";

/**
 * What the source-fault suite needs to know of each source kind: its fake, its config (pointed
 * at the fault proxy), which requests are the resource's list requests, how to change records,
 * and how "empty", "wrong shape" and "page missing" look in its own response format.
 */

export interface RoundChanges {
  created: string[];
  updated: string[];
  deleted: string[];
}

export interface Subject {
  /** Also the source's name in the config. */
  readonly name: string;
  readonly resource: string;
  readonly typePrefix: string;
  readonly pageSize: number;
  /** The API reports totals (X-Total-Count, parameters.total): a missing page is detectable. */
  readonly totals: boolean;
  readonly upstream: string;
  sourceConfig(proxyUrl: string, extra?: Record<string, unknown>): Record<string, unknown>;
  isList(request: ProxiedRequest): boolean;
  /** One round of changes: a create, `updates` updates and a delete of records seen before. */
  round(updates: number): RoundChanges;
  exists(id: string): boolean;
  empty(body: unknown, context: TransformContext): { body: unknown; headers?: Record<string, string> };
  /** A page that lost its records but kept the totals the API reports. */
  missingPage(body: unknown): unknown;
  wrongShape(body: unknown): unknown;
  close(): Promise<void>;
}

const common = { schedule: "0 0 1 1 *", reconcile: "0 0 1 1 *", timeout: "1s", max_response_bytes: "1MB" };
let serial = 0;
const note = (): string => `chaos change ${++serial}`;

/** Ids to update and one to delete, from records that existed before this round. */
function pick(ids: string[], updates: number): { update: string[]; remove?: string } {
  const pool = [...ids];
  const remove = pool.length > updates ? pool.splice(Math.floor(pool.length / 2), 1)[0] : undefined;
  return { update: pool.slice(-updates), ...(remove ? { remove } : {}) };
}

/** What most JSON-array APIs share: an invoices resource, `[]` for empty and missing pages, a wrapped array for a wrong shape. */
const DEFAULTS = {
  resource: "invoices",
  typePrefix: "invoice",
  empty: () => ({ body: [] }),
  missingPage: () => [],
  wrongShape: (body: unknown) => ({ data: body }),
} satisfies Partial<Subject>;

function subject(own: Omit<Subject, keyof typeof DEFAULTS> & Partial<Subject>): Subject {
  return { ...DEFAULTS, ...own };
}

interface Editor {
  /** Creates a record with `text` in a free-text field; returns its id. */
  create(text: string): string;
  update(id: string, text: string): void;
  remove(id: string): void;
}

/** One round: a create, `updates` updates and a delete, among the records `ids` that existed before it. */
function churn(ids: string[], updates: number, edit: Editor): RoundChanges {
  const { update, remove } = pick(ids, updates);
  const created = edit.create(note());
  for (const id of update) edit.update(id, note());
  if (remove) edit.remove(remove);
  return { created: [created], updated: update, deleted: remove ? [remove] : [] };
}

export async function restSubject(): Promise<Subject> {
  const api: FakeRest = await startFakeRest({ token: SECRETS.restToken });
  api.seed(60, 1000);
  return subject({
    name: "legacy",
    resource: "items",
    typePrefix: "item",
    pageSize: 20,
    totals: false,
    upstream: api.url,
    sourceConfig: (proxyUrl, extra = {}) => restSource(proxyUrl, { ...common, ...extra }, { pagination: { style: "page", page_param: "page", size_param: "per_page", size: 20 } }),
    isList: (r) => r.path === "/items",
    round: (updates) =>
      churn([...api.items.keys()].map(String), updates, {
        create: (text) => String(api.create({ note: text }).id),
        update: (id, text) => api.update(Number(id), { note: text }),
        remove: (id) => api.remove(Number(id)),
      }),
    exists: (id) => api.items.has(Number(id)),
    empty: () => ({ body: [], headers: { "x-total-count": "0" } }),
    close: () => api.close(),
  });
}

export async function fakturowniaSubject(): Promise<Subject> {
  const fake: FakturowniaFake = await startFakturowniaFake({ apiToken: SECRETS.fakturowniaToken });
  fake.seed("invoices", 130);
  return subject({
    name: "fakturownia",
    pageSize: 100,
    totals: false,
    upstream: fake.url,
    sourceConfig: (proxyUrl, extra = {}) => ({ name: "fakturownia", preset: "fakturownia", base_url: proxyUrl, api_token: SECRETS.fakturowniaToken, resources: ["invoices"], ...common, ...extra }),
    isList: (r) => r.path === "/invoices.json",
    round: (updates) =>
      churn(fake.all("invoices").map((r) => String(r.id)), updates, {
        create: (text) => String(fake.create("invoices", { description: text }).id),
        update: (id, text) => fake.update("invoices", Number(id), { description: text }),
        remove: (id) => fake.remove("invoices", Number(id)),
      }),
    exists: (id) => fake.get("invoices", Number(id)) !== undefined,
    close: () => fake.close(),
  });
}

export async function facturaScriptsSubject(): Promise<Subject> {
  const fake: FacturaScriptsFake = await startFacturaScriptsFake({ token: SECRETS.facturascriptsToken });
  fake.seed("facturaclientes", 230);
  return subject({
    name: "facturascripts",
    pageSize: 200,
    totals: true,
    upstream: fake.url,
    sourceConfig: (proxyUrl, extra = {}) => ({ name: "facturascripts", preset: "facturascripts", base_url: `${proxyUrl}/api/3`, token: SECRETS.facturascriptsToken, resources: ["invoices"], ...common, ...extra }),
    isList: (r) => r.path === "/api/3/facturaclientes",
    round(updates) {
      const editable = fake.all("facturaclientes").filter((r) => r.editable !== false).map((r) => String(r.idfactura));
      const { update, remove } = pick(editable, updates);
      // New rows are what FacturaScripts pages by key: "updates" beyond one become new rows too.
      const created = [String(fake.create("facturaclientes", { observaciones: note() }).idfactura)];
      for (let i = 1; i < updates; i += 1) created.push(String(fake.create("facturaclientes", { observaciones: note() }).idfactura));
      const updated = update.slice(-1);
      for (const id of updated) fake.update("facturaclientes", Number(id), { observaciones: note() });
      if (remove) fake.remove("facturaclientes", Number(remove));
      return { created, updated, deleted: remove ? [remove] : [] };
    },
    exists: (id) => fake.get("facturaclientes", Number(id)) !== undefined,
    empty: () => ({ body: [], headers: { "x-total-count": "0" } }),
    close: () => fake.close(),
  });
}

export async function wfirmaSubject(): Promise<Subject> {
  const keys = { accessKey: SECRETS.wfirmaAccessKey, secretKey: SECRETS.wfirmaSecretKey, appKey: SECRETS.wfirmaAppKey };
  const fake: WfirmaFake = await startWfirmaFake(keys);
  fake.seed("invoices", 130);
  const emptied = (body: unknown): unknown => {
    const object = body as { invoices?: { parameters?: Record<string, unknown> } };
    return { ...object, invoices: { parameters: { ...object.invoices?.parameters, total: 0 } } };
  };
  return subject({
    name: "wfirma",
    pageSize: 100,
    totals: true,
    upstream: fake.url,
    sourceConfig: (proxyUrl, extra = {}) => ({ name: "wfirma", preset: "wfirma", base_url: proxyUrl, access_key: keys.accessKey, secret_key: keys.secretKey, app_key: keys.appKey, resources: ["invoices"], ...common, ...extra }),
    isList: (r) => r.path === "/invoices/find",
    round: (updates) =>
      churn(fake.all("invoices").map((r) => String(r.id)), updates, {
        create: (text) => String(fake.create("invoices", { description: text }).id),
        update: (id, text) => fake.update("invoices", id, { description: text }),
        remove: (id) => fake.remove("invoices", id),
      }),
    exists: (id) => fake.get("invoices", id) !== undefined,
    empty: (body) => ({ body: emptied(body) }),
    missingPage: (body) => {
      const object = body as { invoices?: Record<string, unknown> };
      return { ...object, invoices: { parameters: object.invoices?.parameters } };
    },
    wrongShape: (body) => ({ ...(body as object), invoices: "unexpected" }),
    close: () => fake.close(),
  });
}

export async function fakturoidSubject(): Promise<Subject> {
  const fake: FakturoidFake = await startFakturoidFake({ clientId: SECRETS.fakturoidClientId, clientSecret: SECRETS.fakturoidClientSecret, rateLimit: { quota: 1_000_000, windowSeconds: 60 } });
  fake.seed("invoices", 70);
  return subject({
    name: "fakturoid",
    pageSize: 40,
    totals: false,
    upstream: fake.url,
    sourceConfig: (proxyUrl, extra = {}) => ({
      name: "fakturoid",
      preset: "fakturoid",
      base_url: proxyUrl,
      account: "acme",
      client_id: SECRETS.fakturoidClientId,
      client_secret: SECRETS.fakturoidClientSecret,
      user_agent: "retrohook-chaos (ops@example.com)",
      resources: ["invoices"],
      ...common,
      ...extra,
    }),
    isList: (r) => r.path === "/api/v3/accounts/acme/invoices.json",
    round: (updates) =>
      churn(fake.all("invoices").map((r) => String(r.id)), updates, {
        create: (text) => String(fake.create("invoices", { note: text }).id),
        update: (id, text) => fake.update("invoices", Number(id), { note: text }),
        remove: (id) => fake.remove("invoices", Number(id)),
      }),
    exists: (id) => fake.get("invoices", Number(id)) !== undefined,
    close: () => fake.close(),
  });
}

export const SUBJECTS: Record<string, () => Promise<Subject>> = {
  rest: restSubject,
  fakturownia: fakturowniaSubject,
  facturascripts: facturaScriptsSubject,
  wfirma: wfirmaSubject,
  fakturoid: fakturoidSubject,
};
