import { afterEach, describe, expect, it } from "vitest";
import { startFakturowniaFake, type FakturowniaFake } from "../../src/simulators/fakturownia/fake.js";
import type { FakeServer } from "../../src/simulators/kit.js";
import { startFacturaScriptsFake, type FacturaScriptsFake } from "../fakes/facturascripts/fake.js";
import { startFakturoidFake, type FakturoidFake } from "../fakes/fakturoid/fake.js";
import { startWfirmaFake, type WfirmaFake } from "../fakes/wfirma/fake.js";
import { runCli } from "../helpers/cli.js";
import { writeConfig } from "../helpers/config-file.js";

const CHECKS = ["reachable", "permission", "order honoured", "cursor field", "page size", "deletion check"];
const FS_KEY = "SECRET-fs-doctor-key";

let fakes: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((fake) => fake.close()));
  fakes = [];
});

/** The requests doctor printed for one source. */
function printed(stdout: string, source: string): number {
  const match = new RegExp(`^source ${source} \\([^)]*\\): (\\d+) requests$`, "m").exec(stdout);
  expect(match, `no line for source ${source}`).not.toBeNull();
  return Number(match![1]);
}

describe("retrohook doctor", () => {
  it("checks all four vendors' fakes: a table per resource, and no more requests than it prints", async () => {
    const fakturownia: FakturowniaFake = await startFakturowniaFake({ apiToken: "SECRET-fk", ignoreOrder: ["payments"] });
    const facturascripts: FacturaScriptsFake = await startFacturaScriptsFake({ token: "SECRET-fs-full", keys: { [FS_KEY]: { allow: { facturaclientes: ["get"], logmessages: ["get"], clientes: ["get"] } } } });
    const fakturoid: FakturoidFake = await startFakturoidFake();
    const wfirma: WfirmaFake = await startWfirmaFake();
    fakes = [fakturownia, facturascripts, fakturoid, wfirma];
    fakturownia.seed("invoices", 120);
    fakturownia.seed("payments", 30);
    facturascripts.seed("facturaclientes", 5);
    facturascripts.seed("clientes", 3);
    for (let i = 0; i < 3; i += 1) fakturoid.create("invoices");
    fakturoid.create("subjects");
    wfirma.create("invoices");
    wfirma.create("contractors");
    wfirma.create("contractors");
    const path = writeConfig({
      sources: [
        { name: "fk", preset: "fakturownia", base_url: fakturownia.url, api_token: "SECRET-fk", resources: ["invoices", "payments", "products"] },
        { name: "fs", preset: "facturascripts", base_url: `${facturascripts.url}/api/3`, token: FS_KEY, resources: ["invoices", "clients", "cost_invoices"] },
        { name: "fd", preset: "fakturoid", base_url: fakturoid.url, account: "acme", client_id: "cid", client_secret: "csecret", user_agent: "retrohook-tests (ops@example.com)", resources: ["invoices", "clients"] },
        { name: "wf", preset: "wfirma", base_url: wfirma.url, access_key: "ak", secret_key: "sk", app_key: "app", resources: ["invoices", "clients"] },
      ],
      targets: [],
    }).path;
    const before = fakes.map((fake) => fake.requests.length);
    const result = await runCli(["doctor", "-c", path], {}, 90_000);
    expect(result.stderr).not.toMatch(/SECRET-/);
    expect(result.stdout).not.toMatch(/SECRET-/);
    const out = result.stdout;
    // Costs at most what it prints, per source (counted at each fake).
    const names = ["fk", "fs", "fd", "wf"];
    names.forEach((name, i) => {
      const asked = fakes[i]!.requests.length - before[i]!;
      expect(asked, `requests at the fake of ${name}`).toBeGreaterThan(0);
      expect(asked, `requests at the fake of ${name}`).toBeLessThanOrEqual(printed(out, name));
    });
    const total = names.reduce((sum, name) => sum + printed(out, name), 0);
    expect(out).toContain(`${total} requests in all`);
    // A table per resource with every check.
    for (const resource of ["invoices", "payments", "products", "clients", "cost_invoices"]) expect(out).toMatch(new RegExp(`^  ${resource}: \\d+ requests$`, "m"));
    for (const check of CHECKS) expect(out.split(check).length - 1).toBeGreaterThanOrEqual(9);
    // What it found: the documented and the unproven order, the missing payment feed, the
    // missing permission (403, once), Fakturoid's trash-capable deletion path.
    expect(out).toMatch(/updated_at descending \(documented\): sorted on the first page/);
    expect(out).toMatch(/updated_at descending \(undocumented\): sorted, but also in id order: not proven by this page\s+complete scans until a page proves the order/);
    expect(out).toMatch(/learned facturascripts:no-pagoclientes-access/);
    expect(out).toMatch(/refused \(403\)/);
    expect(out).toMatch(/modified ascending, then id \(undocumented\)/);
    expect(out).toMatch(/single-record GET answers for record \d+ \(the vendor has a trash\)/);
    // Never enough refusals to approach FacturaScripts' IP ban.
    const fsStatuses = facturascripts.requests.map((r) => r.status);
    expect(fsStatuses.filter((s) => s === 401 || s === 403).length).toBeLessThanOrEqual(3);
    expect(fsStatuses).not.toContain(429);
    expect(result.code).toBe(1);
  }, 120_000);

  it("checks the demo's simulated account", async () => {
    const result = await runCli(["doctor", "--demo"], {}, 60_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^source demo-fakturownia \(preset fakturownia\): \d+ requests$/m);
    for (const check of CHECKS) expect(result.stdout).toContain(check);
    const total = printed(result.stdout, "demo-fakturownia");
    expect(result.stdout).toContain(`${total} requests in all`);
  }, 60_000);

  it("is suggested for a typo", async () => {
    const result = await runCli(["docter"], {}, 30_000);
    expect(result.stderr).toMatch(/did you mean.*doctor/i);
  }, 30_000);
});
