import { describe, expect, it } from "vitest";
import { browserSuite } from "../../helpers/browser.js";
import { startFakeRest } from "../../helpers/fake-rest.js";
import { startReceiver } from "../../helpers/receiver.js";
import { eventually, NEVER, startDaemon, type Daemon } from "../harness.js";

/**
 * The web UI's record page: the record's timeline as `explain` tells it (passes that saw it,
 * each event with why it fired and what changed, the rule that did not fire, each target it
 * was routed to or not and every delivery attempt), then the reasons an event did not fire.
 */

let daemon: Daemon;

const ui = browserSuite(async (keep) => {
  const api = keep(await startFakeRest());
  const erp = keep(await startReceiver());
  const crm = keep(await startReceiver());
  for (let i = 0; i < 3; i++) api.create({ status: "issued" });
  daemon = keep(await startDaemon({
    sources: [{
      name: "legacy",
      type: "rest",
      base_url: api.url,
      headers: { Authorization: `Bearer ${api.token}` },
      schedule: NEVER,
      reconcile: NEVER,
      resources: [{
        name: "items",
        type_prefix: "item",
        path: "/items",
        cursor: { field: "modified_at", param: "modified_since" },
        pagination: { style: "page", page_param: "page", size_param: "per_page", size: 100 },
        paid: { field: "status", to: "paid" },
        ignore_fields: ["modified_at", "touched_at"],
      }],
    }],
    targets: [
      { name: "erp", url: erp.url, events: ["item.*"] },
      { name: "crm", url: crm.url, events: ["item.created", "item.deleted"] },
    ],
  }));
  // The start-up pass was the silent baseline. Item 1 is paid (updated + paid), then renamed
  // (updated; paid is already true); item 2 changes only in an ignored field.
  api.update(1, { status: "paid" });
  await daemon.pass();
  await erp.waitFor(2);
  api.update(1, { name: "renamed" });
  api.update(2, { touched_at: "2026-12-01T10:00:00Z" });
  await daemon.pass();
  await erp.waitFor(3);
  await eventually(async () => (await daemon.app.store.listPending()).length === 0, "every delivery done");
});

describe.skipIf(!ui.installed)("the record page's timeline in headless Chromium", () => {
  it("shows every pass that saw the record, each event with why, what changed, routing and attempts, and why paid did not fire again", async () => {
    const { page } = ui.browser();
    await page.goto(`${daemon.url}/#/record?source=legacy&resource=items&id=1`);
    const timeline = page.locator("#timeline");
    await expect.poll(() => timeline.locator("li.event").count()).toBe(3);
    expect(await page.locator("#record-name").getAttribute("data-state")).toBe("live");

    // Oldest first: the baseline pass, then the pass that found it paid, then the rename.
    const items = timeline.locator(":scope > li");
    expect(await items.first().getAttribute("data-kind")).toBe("pass");
    expect(await items.first().textContent()).toMatch(/pass incremental \(complete listing, first pass: baseline\)/);
    expect(await timeline.locator("li.event").evaluateAll((els) => els.map((el) => el.getAttribute("data-type")))).toEqual(["item.updated", "item.paid", "item.updated"]);
    expect(await timeline.locator("li.pass").count()).toBeGreaterThanOrEqual(3);

    const [updated, paid, renamed] = [0, 1, 2].map((i) => timeline.locator("li.event").nth(i));
    expect(await updated!.locator(".why").textContent()).toMatch(/^why: updated: the fingerprint changed \(status\)/);
    expect(await updated!.locator('table.changes tr[data-field="status"]').textContent()).toBe('status"issued""paid"');
    expect(await paid!.locator(".why").textContent()).toMatch(/paid: rule "paid" became true \(status: "issued" → "paid"\)/);
    expect(await renamed!.locator('table.changes tr[data-field="name"] td').last().textContent()).toBe('"renamed"');
    expect(await renamed!.locator('.not-fired[data-rule="paid"]').textContent()).toMatch(/paid did not fire: it was already true before this change/);

    // Deliveries per target: erp took each event (attempt 1, delivered, HTTP 200); crm takes none of them.
    for (const event of [updated!, paid!, renamed!]) {
      const erpRoute = event.locator('ul.routing > li[data-target="erp"]');
      expect(await erpRoute.getAttribute("data-routed")).toBe("true");
      expect(await erpRoute.locator('li[data-attempt="1"]').getAttribute("data-outcome")).toBe("delivered");
      expect(await erpRoute.locator('li[data-attempt="1"]').textContent()).toMatch(/HTTP 200/);
      const crmRoute = event.locator('ul.routing > li[data-target="crm"]');
      expect(await crmRoute.getAttribute("data-routed")).toBe("false");
      expect(await crmRoute.textContent()).toMatch(/not routed: the target's events \(item\.created, item\.deleted\) do not match item\.(updated|paid)/);
    }

    const reasons = await page.locator("#why-not li").evaluateAll((els) => els.map((el) => el.getAttribute("data-reason")));
    expect(reasons).toEqual(expect.arrayContaining(["transition-already-true", "not-routed"]));
    await ui.browser().screenshot("ui-record.png");
  });

  it("says why a record did not fire: the silent baseline and a change only in ignore_fields", async () => {
    const { page } = ui.browser();
    await page.goto(`${daemon.url}/#/record?source=legacy&resource=items&id=2`);
    const reasons = page.locator("#why-not li");
    await expect.poll(() => reasons.count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#why-not li[data-reason="baseline"]').textContent()).toMatch(/no created: the record already existed at the resource's first pass/);
    expect(await page.locator('#why-not li[data-reason="ignored-fields"]').textContent()).toMatch(/only ignore_fields changed \(modified_at, touched_at\): no event/);
    expect(await page.locator("#timeline li.pass [data-ignored]").textContent()).toMatch(/only ignore_fields changed \(modified_at, touched_at\)/);
    expect(await page.locator("#timeline li.event").count()).toBe(0);
  });
});
