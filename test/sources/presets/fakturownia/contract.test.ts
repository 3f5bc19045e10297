import type { FakturowniaSourceConfig } from "../../../../src/sources/presets/fakturownia/config.js";
import { startFakturowniaFake, type FakturowniaFake } from "../../../../src/simulators/fakturownia/fake.js";
import { presetContract, presetSource, singleRecordRead, type RequestLine } from "../contract.js";

const TOKEN = "SECRET-fakturownia-contract-token";
const isList = (r: RequestLine): boolean => r.method === "GET" && r.path === "/invoices.json" && r.query.get("income") === "no";

presetContract<FakturowniaFake>({
  name: "fakturownia",
  otherResource: "clients",
  secret: TOKEN,
  start: (clock) => startFakturowniaFake({ apiToken: TOKEN, now: () => clock.now() }),
  config: (fake, resources, overrides) => presetSource<FakturowniaSourceConfig>({ name: "fakturownia", preset: "fakturownia", base_url: fake.url, api_token: TOKEN }, resources, overrides),
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
  isSingleGet: singleRecordRead(/^\/invoices\/(\d+)\.json$/),
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
