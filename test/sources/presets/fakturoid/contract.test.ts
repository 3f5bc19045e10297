import type { FakturoidSourceConfig } from "../../../../src/sources/presets/fakturoid/config.js";
import { startFakturoidFake, type FakturoidFake } from "../../../fakes/fakturoid/fake.js";
import { presetContract, presetSource, singleRecordRead, type RequestLine } from "../contract.js";

const CLIENT_SECRET = "SECRET-fakturoid-contract-client-secret";
const LIST = "/api/v3/accounts/acme/expenses.json";
const isList = (r: RequestLine): boolean => r.method === "GET" && r.path === LIST;

presetContract<FakturoidFake>({
  name: "fakturoid",
  otherResource: "clients",
  secret: CLIENT_SECRET,
  start: (clock) => startFakturoidFake({ clientSecret: CLIENT_SECRET, now: () => clock.now() }),
  config: (fake, resources, overrides) =>
    presetSource<FakturoidSourceConfig>(
      { name: "fakturoid", preset: "fakturoid", timezone: "Europe/Prague", base_url: fake.url, account: "acme", client_id: "cid", client_secret: CLIENT_SECRET, user_agent: "retrohook-contract (ops@example.com)" },
      resources,
      overrides,
    ),
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
  isSingleGet: singleRecordRead(/^\/api\/v3\/accounts\/acme\/expenses\/(\d+)\.json$/),
});
