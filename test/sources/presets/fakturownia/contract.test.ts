import type { FakturowniaSourceConfig } from "../../../../src/sources/presets/fakturownia/config.js";
import { startFakturowniaFake, type FakturowniaFake } from "../../../../src/simulators/fakturownia/fake.js";
import { commonSource, presetContract, type RequestLine } from "../contract.js";

const TOKEN = "SECRET-fakturownia-contract-token";
const SINGLE = /^\/invoices\/(\d+)\.json$/;
const isList = (r: RequestLine): boolean => r.method === "GET" && r.path === "/invoices.json" && r.query.get("income") === "no";
const isSingleGet = (r: RequestLine, id?: string): boolean => {
  const match = r.method === "GET" ? SINGLE.exec(r.path) : null;
  return match !== null && (id === undefined || match[1] === id);
};

presetContract<FakturowniaFake>({
  name: "fakturownia",
  resource: "cost_invoices",
  typePrefix: "cost_invoice",
  otherResource: "clients",
  secret: TOKEN,
  start: (clock) => startFakturowniaFake({ apiToken: TOKEN, now: () => clock.now() }),
  config: (fake, resources, overrides): FakturowniaSourceConfig => ({
    ...commonSource({ name: "fakturownia", ...overrides }),
    preset: "fakturownia",
    base_url: fake.url,
    api_token: TOKEN,
    resources,
  }),
  // 150 cost invoices: a complete scan takes two pages of 100.
  seed: (fake) => fake.seed("cost_invoices", 150),
  create: (fake) => String(fake.create("cost_invoices", { price_gross: "1230.00" }).id),
  update: (fake, id) => void fake.update("cost_invoices", Number(id), { description: "corrected by hand" }),
  pay: (fake, id) => void fake.addPayment(Number(id), String(fake.get("cost_invoices", Number(id))!.price_gross)),
  remove: (fake, id) => fake.remove("cost_invoices", Number(id)),
  deletedBy: "reconcile",
  idleRequests: 1,
  overlapRereads: true,
  // Pages hold 100.
  burst: 110,
  isList,
  isSecondPage: (r) => isList(r) && r.query.get("page") === "2",
  isSingleGet,
  isResourceRequest: (r) => isList(r) || isSingleGet(r),
  extraFaults: [
    {
      name: "an error inside a 200 body",
      at: "list",
      fault: { type: "status", status: 200, body: { status: "error", message: "KSeF is unavailable" } },
      causes: ["vendor-error"],
      message: /KSeF is unavailable/,
    },
  ],
});
