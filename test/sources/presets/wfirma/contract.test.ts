import type { WfirmaSourceConfig } from "../../../../src/sources/presets/wfirma/config.js";
import { startWfirmaFake, type WfirmaFake } from "../../../fakes/wfirma/fake.js";
import { presetContract, presetSource, singleRecordRead, type RequestLine } from "../contract.js";

const SECRET_KEY = "SECRET-wfirma-contract-secret-key";
const isList = (r: RequestLine): boolean => r.method === "POST" && r.path === "/expenses/find";
/** wFirma reads one record at /<module>/get/<id>, whatever the method. */
const isSingleGet = singleRecordRead(/^\/expenses\/get\/(\d+)$/, null);
/** wFirma answers with HTTP 200 and the outcome in `status.code`. */
const answer = (body: Record<string, unknown>) => ({ type: "status" as const, status: 200, body });

presetContract<WfirmaFake>({
  name: "wfirma",
  otherResource: "clients",
  secret: SECRET_KEY,
  start: (clock) => startWfirmaFake({ secretKey: SECRET_KEY, now: () => clock.now() }),
  config: (fake, resources, overrides) => presetSource<WfirmaSourceConfig>({ name: "wfirma", preset: "wfirma", base_url: fake.url, access_key: "ak", secret_key: SECRET_KEY, app_key: "app" }, resources, overrides),
  // 150 expenses: a complete walk takes two pages of 100.
  seed: (fake) => fake.seed("expenses", 150),
  create: (fake) => String(fake.create("expenses").id),
  update: (fake, id) => void fake.update("expenses", id, { description: "corrected by hand" }),
  pay: (fake, id) => void fake.addPayment("expense", id, String(fake.get("expenses", id)!.brutto)),
  remove: (fake, id) => fake.remove("expenses", id),
  deletedBy: "reconcile",
  // The module and the payments that pay its records.
  idleRequests: 2,
  overlapRereads: true,
  burst: 110,
  isList,
  // Key paging: in a reconcile, page 2 is the first with conditions (modified ge the last stamp seen).
  isSecondPage: (r) => isList(r) && (r.body ?? "").includes('"conditions"'),
  isSingleGet,
  isResourceRequest: (r) => isList(r) || isSingleGet(r) || (r.method === "POST" && r.path === "/payments/find"),
  answers: {
    unauthorized: answer({ status: { code: "AUTH" } }),
    forbidden: answer({ status: { code: "ACCESS DENIED" } }),
    notFound: answer({ status: { code: "NOT FOUND" } }),
    exists: (id) => answer({ expenses: { "0": { expense: { id } } }, status: { code: "OK" } }),
    empty: answer({ expenses: { parameters: { limit: "100", page: "1", total: "0" } }, status: { code: "OK" } }),
  },
  extraFaults: [
    { name: "FATAL in the body of a 200", at: "list", fault: answer({ status: { code: "FATAL" } }), causes: ["vendor-error"], message: /FATAL/ },
    {
      name: "a page shorter than parameters.total says",
      at: "second-page",
      fault: answer({ expenses: { parameters: { limit: "100", page: "1", total: "50" } }, status: { code: "OK" } }),
      causes: ["incomplete"],
      message: /short/,
    },
  ],
});
