import { describe, expect, it } from "vitest";
import { browserSuite } from "../../helpers/browser.js";
import { restSourceYaml } from "../../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../../helpers/fake-rest.js";
import { startReceiver, verifySignature, type Receiver } from "../../helpers/receiver.js";
import { eventually, NEVER, startDaemon, type Daemon } from "../harness.js";

const SECRET = "whsec_VUktVEVTVC1TSUdOSU5HLVNFQ1JFVC0wMDE=";

let api: FakeRest;
let erp: Receiver;
let crm: Receiver;
let daemon: Daemon;

const ui = browserSuite(async (keep) => {
  api = keep(await startFakeRest());
  erp = keep(await startReceiver({ status: 400, body: "unknown customer" }));
  crm = keep(await startReceiver({ status: 503, body: "down for maintenance" }));
  api.create({ name: "Invoice FV/1/2026" });
  daemon = keep(await startDaemon({
    sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill" })],
    targets: [
      { name: "erp", url: erp.url, secret: SECRET },
      { name: "crm", url: crm.url, secret: SECRET },
    ],
  }));
  await eventually(async () => (await daemon.app.store.listDeadLetters("erp")).length === 1 && crm.requests.length === 1, "a dead letter for erp and a failed attempt for crm");
});
const page = () => ui.browser().page;

const targetRow = (name: string) => page().locator(`#targets tr[data-target="${name}"]`);

describe.skipIf(!ui.installed)("web UI in headless Chromium", () => {
  it("shows sources and targets at a glance; a failing target as failing", async () => {
    await page().goto(`${daemon.url}/`);
    await expect.poll(() => targetRow("crm").locator("[data-health]").textContent()).toBe("failing");
    await expect.poll(() => targetRow("erp").locator("[data-health]").textContent()).toBe("failing");
    expect(await targetRow("erp").locator("[data-dead]").getAttribute("data-dead")).toBe("1");
    expect(await targetRow("crm").textContent()).toMatch(/HTTP 503/);
    const resource = page().locator('#sources tr[data-resource="legacy/items"]');
    expect(await resource.textContent()).toMatch(/1 records/);
    expect(await resource.textContent()).toMatch(/cursor/);
    expect(await page().locator('#sources tr[data-source="legacy"] [data-health]').textContent()).toBe("ok");
  });

  it("replays a dead letter with one click: the receiver gets it, with its id", async () => {
    const [dead] = await daemon.app.store.listDeadLetters("erp");
    erp.reply({ status: 200, body: "ok" });
    await page().goto(`${daemon.url}/#/dead`);
    const row = page().locator(`#dead-letters tr.dead[data-target="erp"]`);
    expect(await row.textContent()).toMatch(/HTTP 400/);
    expect(await row.textContent()).toMatch(/unknown customer/);
    await row.getByRole("button", { name: "replay", exact: true }).click();
    await erp.waitFor(2);
    expect(erp.requests[1]!.headers["webhook-id"]).toBe(dead!.eventId);
    expect(verifySignature(erp.requests[1]!, SECRET)).toMatchObject({ type: "item.created", record_id: "1" });
    await expect.poll(() => page().locator("#flash").textContent()).toMatch(/queued again for erp/);
    await expect.poll(() => page().locator("#dead-letters tr.dead").count()).toBe(0);
  });

  it('"send test" reaches the receiver', async () => {
    await page().goto(`${daemon.url}/`);
    const before = erp.requests.length;
    await targetRow("erp").getByRole("button", { name: "send test" }).click();
    await erp.waitFor(before + 1);
    expect(verifySignature(erp.requests[before]!, SECRET)).toMatchObject({ type: "retrohook.test", resource: null, kind: null, record_id: null });
    await expect.poll(() => page().locator("#flash").textContent()).toMatch(/test event to erp: HTTP 200/);
  });

  it('"pause" stops deliveries until "resume"', async () => {
    await page().goto(`${daemon.url}/`);
    await targetRow("erp").getByRole("button", { name: "pause", exact: true }).click();
    await expect.poll(() => targetRow("erp").locator("[data-health]").textContent()).toBe("paused");
    const before = erp.requests.length;
    api.create({ name: "Invoice FV/2/2026" });
    await page().locator('#sources tr[data-source="legacy"]').getByRole("button", { name: "run pass" }).click();
    // The pass runs in the background: the page shows its outcome at a later refresh (every 3 s).
    await expect.poll(() => targetRow("erp").locator("[data-pending]").getAttribute("data-pending"), { timeout: 10_000 }).toBe("1");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(erp.requests.length).toBe(before);

    await ui.browser().screenshot("ui.png");

    await targetRow("erp").getByRole("button", { name: "resume" }).click();
    await erp.waitFor(before + 1);
    expect(JSON.parse(erp.requests[before]!.body)).toMatchObject({ type: "item.created", record_id: "2" });
  });

  it("shows the delivery log with filters and each attempt's request and response, and a record", async () => {
    await page().goto(`${daemon.url}/#/log`);
    const rows = page().locator("#log tbody tr.clickable");
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(3);
    await page().locator("form.filters select[name=status]").selectOption("dead");
    await page().locator("form.filters button[type=submit]").click();
    await expect.poll(() => rows.count()).toBe(1);
    await rows.first().click();
    const detail = page().locator("#log tr.detail");
    await expect.poll(() => detail.textContent()).toMatch(/Request.*POST.*127\.0\.0\.1:\d+\/….*webhook-id.*Response.*HTTP 400.*rejected by the receiver/s);
    await ui.browser().screenshot("ui-log.png");

    await page().goto(`${daemon.url}/#/record?source=legacy&resource=items&id=1`);
    await expect.poll(() => page().locator("main pre").textContent()).toMatch(/"name": "Invoice FV\/1\/2026"/);
    const created = page().locator('#timeline li.event[data-type="item.created"]');
    // erp answered 400 (dead), then took the replay; crm's 503s are retried.
    expect(await created.locator('ul.routing > li[data-target="erp"] li[data-attempt]').evaluateAll((els) => els.map((el) => el.getAttribute("data-outcome")))).toEqual(expect.arrayContaining(["dead", "delivered"]));
    expect(await created.locator('ul.routing > li[data-target="crm"] li[data-outcome="retry"]').first().textContent()).toMatch(/HTTP 503/);
    expect(await page().content()).not.toContain(SECRET);
  });
});
