import type { FakturoidSourceConfig } from "../../../../src/sources/presets/fakturoid/config.js";
import { startFakturoidFake, type FakturoidFake } from "../../../fakes/fakturoid/fake.js";
import { commonSource, presetContract, type RequestLine } from "../contract.js";

const CLIENT_SECRET = "SECRET-fakturoid-contract-client-secret";
const LIST = "/api/v3/accounts/acme/expenses.json";
const SINGLE = /^\/api\/v3\/accounts\/acme\/expenses\/(\d+)\.json$/;
const isList = (r: RequestLine): boolean => r.method === "GET" && r.path === LIST;
const isSingleGet = (r: RequestLine, id?: string): boolean => {
  const match = r.method === "GET" ? SINGLE.exec(r.path) : null;
  return match !== null && (id === undefined || match[1] === id);
};

presetContract<FakturoidFake>({
  name: "fakturoid",
  resource: "cost_invoices",
  typePrefix: "cost_invoice",
  otherResource: "clients",
  secret: CLIENT_SECRET,
  start: (clock) => startFakturoidFake({ clientSecret: CLIENT_SECRET, now: () => clock.now() }),
  config: (fake, resources, overrides): FakturoidSourceConfig => ({
    ...commonSource({ name: "fakturoid", timezone: "Europe/Prague", ...overrides }),
    preset: "fakturoid",
    base_url: fake.url,
    account: "acme",
    client_id: "cid",
    client_secret: CLIENT_SECRET,
    user_agent: "retrohook-contract (ops@example.com)",
    resources,
  }),
  // 60 expenses: a complete walk takes two pages of 40.
  seed: (fake) => fake.seed("expenses", 60),
  create: (fake) => String(fake.create("expenses").id),
  update: (fake, id) => void fake.update("expenses", Number(id), { private_note: "corrected by hand" }),
  pay: (fake, id) => void fake.addPayment("expenses", Number(id)),
  remove: (fake, id) => fake.remove("expenses", Number(id)),
  deletedBy: "reconcile",
  // One list page; the token lives 2 h and is kept between passes.
  idleRequests: 1,
  overlapRereads: true,
  burst: 45,
  isList,
  isSecondPage: (r) => isList(r) && r.query.get("page") === "2",
  isSingleGet,
  isResourceRequest: (r) => isList(r) || isSingleGet(r),
});
