import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../src/clock.js";
import type { SourceConfig } from "../../../../src/config/types.js";
import { startFakturowniaFake, type FakturowniaFake, type FakturowniaFakeOptions } from "../../../../src/simulators/fakturownia/fake.js";
import { openStateStore } from "../../../../src/store/open.js";
import type { StateStore } from "../../../../src/store/store.js";
import { passRunner, typesOf } from "../../../helpers/pass-harness.js";
import { loadedSource } from "../../../helpers/source-config.js";

const TOKEN = "SECRET-fakturownia-order-token";
const MINUTE = 60_000;

let fake: FakturowniaFake | undefined;
let store: StateStore | undefined;
const clock = (): ManualClock => new ManualClock(Date.parse("2026-11-23T10:00:00Z"), { autoAdvance: true });

beforeEach(async () => {
  store = await openStateStore("sqlite::memory:");
});
afterEach(async () => {
  await fake?.close();
  await store?.close();
  fake = undefined;
});

async function setUp(options: FakturowniaFakeOptions, resources: string[]) {
  const time = clock();
  fake = await startFakturowniaFake({ apiToken: TOKEN, now: () => time.now(), ...options });
  const config = loadedSource<SourceConfig>({ name: "fk", preset: "fakturownia", base_url: fake.url, api_token: TOKEN, resources, timeout: "2s" });
  const runner = passRunner(() => store!, config as never, time);
  return { runner, time, fake };
}

const facts = async (): Promise<string[]> => Object.keys((await store!.getSourceState("fk"))?.facts ?? {}).sort();

describe("Fakturownia: order=updated_at.desc is proven per endpoint before a walk stops at the cursor", () => {
  it("an endpoint that ignores the order (lists newest id first) looks sorted, yet an edit of an old record is delivered by the next pass", async () => {
    const { runner, time, fake } = await setUp({ ignoreOrder: ["payments"] }, ["payments"]);
    // 150 payments: two pages; in id order their updated_at also descends, so page 1 looks sorted.
    fake.seed("payments", 150);
    expect((await runner.pass()).outcomes[0]!.ok).toBe(true);
    time.advance(30 * MINUTE);
    const oldest = Number(fake.all("payments").sort((a, b) => Number(a.id) - Number(b.id))[0]!.id);
    const fresh = Number(fake.create("payments", { price: "10.00", name: "new" }).id);
    fake.update("payments", oldest, { description: "edited" });
    const pass = await runner.pass();
    expect(pass.outcomes[0]!.ok, pass.outcomes[0]!.error).toBe(true);
    expect(typesOf(pass.events).filter((t) => !t.startsWith("payment.paid"))).toEqual([`payment.created:${fresh}`, `payment.updated:${oldest}`]);
    expect(pass.outcomes[0]!.warnings.join("\n")).toMatch(/sort by "updated_at" is not verified/);
    expect(await facts()).toContain("fakturownia:order-unverified:payments");
  }, 60_000);

  it("a page sorted by updated_at in an order that is not its id order proves the sort; walks then stop at the cursor", async () => {
    const { runner, time, fake } = await setUp({}, ["payments"]);
    fake.seed("payments", 150);
    await runner.pass();
    // The first pass's catch-up listing is incremental: unproven, so complete, and said so.
    expect(await facts()).toEqual(["fakturownia:order-unverified:payments"]);
    // Unproven: every incremental pass lists both pages.
    time.advance(MINUTE);
    let before = fake.requests.length;
    await runner.pass();
    expect(fake.requests.slice(before).filter((r) => r.path === "/banking/payments.json")).toHaveLength(2);
    expect(await facts()).toEqual(["fakturownia:order-unverified:payments"]);

    // An old payment edited: the honoured sort puts it first, out of id order — proof.
    time.advance(30 * MINUTE);
    const old = Number(fake.all("payments").sort((a, b) => Number(a.id) - Number(b.id))[5]!.id);
    fake.update("payments", old, { description: "edited" });
    expect(typesOf((await runner.pass()).events)).toEqual([`payment.updated:${old}`]);
    expect(await facts()).toEqual(["fakturownia:order-verified:payments"]);

    time.advance(30 * MINUTE);
    const another = Number(fake.all("payments").sort((a, b) => Number(a.id) - Number(b.id))[9]!.id);
    fake.update("payments", another, { description: "edited too" });
    before = fake.requests.length;
    const pass = await runner.pass();
    expect(typesOf(pass.events)).toEqual([`payment.updated:${another}`]);
    expect(pass.outcomes[0]!.warnings).toEqual([]);
    expect(fake.requests.slice(before).filter((r) => r.path === "/banking/payments.json")).toHaveLength(1);
  }, 60_000);

  it("invoices (where the sort is documented) need no proof", async () => {
    const { runner, time, fake } = await setUp({}, ["invoices"]);
    fake.seed("invoices", 150);
    await runner.pass();
    time.advance(MINUTE);
    const before = fake.requests.length;
    await runner.pass();
    expect(fake.requests.slice(before).filter((r) => r.path === "/invoices.json")).toHaveLength(1);
    expect(await facts()).toEqual([]);
  }, 60_000);
});

describe("Fakturownia: the single-payment GET path is found at run time", () => {
  for (const path of ["singular", "plural"] as const) {
    it(`confirms a deleted payment when only the ${path} path answers, and remembers it`, async () => {
      const { runner, fake } = await setUp({ paymentGetPath: path }, ["payments"]);
      fake.seed("payments", 3);
      await runner.pass();
      const doomed = Number(fake.all("payments")[0]!.id);
      fake.remove("payments", doomed);
      const pass = await runner.pass("reconcile");
      expect(pass.outcomes[0]!.ok, pass.outcomes[0]!.error).toBe(true);
      expect(typesOf(pass.events)).toEqual([`payment.deleted:${doomed}`]);
      const template = path === "singular" ? "/banking/payment/{id}.json" : "/banking/payments/{id}.json";
      expect(await facts()).toContain(`fakturownia:payment-get:${template}`);

      // Remembered: the next confirmation asks the path that works first.
      const next = Number(fake.all("payments")[0]!.id);
      fake.remove("payments", next);
      const before = fake.requests.length;
      expect(typesOf((await runner.pass("reconcile")).events)).toEqual([`payment.deleted:${next}`]);
      const gets = fake.requests.slice(before).filter((r) => /^\/banking\/payments?\/\d+\.json$/.test(r.path));
      expect(gets.every((r) => r.path.startsWith(template.slice(0, template.indexOf("{"))))).toBe(true);
    }, 60_000);
  }
});
