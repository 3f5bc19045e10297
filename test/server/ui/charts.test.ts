import type { Locator } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { SeriesView } from "../../../src/telemetry/series.js";
import { restSourceYaml } from "../../helpers/config-file.js";
import { browserSuite } from "../../helpers/browser.js";
import { startFakeRest } from "../../helpers/fake-rest.js";
import { startReceiver } from "../../helpers/receiver.js";
import { eventually, NEVER, startDaemon, type Daemon } from "../harness.js";

/**
 * The overview's charts drawn from a scripted run: six records announced (`start: backfill`),
 * two of them paid; erp takes everything, crm answers 503 twice (each retried 5 s later).
 */

let daemon: Daemon;

const ui = browserSuite(async (keep) => {
  const api = keep(await startFakeRest());
  const erp = keep(await startReceiver());
  const crm = keep(await startReceiver());
  crm.replySequence([{ status: 503, body: "busy" }, { status: 503, body: "busy" }]);
  for (let i = 0; i < 6; i++) api.create({ status: "issued" });
  daemon = keep(await startDaemon({
    sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill" })],
    targets: [
      { name: "erp", url: erp.url, secret: "whsec_VUktVEVTVC1TSUdOSU5HLVNFQ1JFVC0wMDE=" },
      { name: "crm", url: crm.url, secret: "whsec_VUktVEVTVC1TSUdOSU5HLVNFQ1JFVC0wMDE=", events: ["item.created"] },
    ],
  }));
  api.update(1, { status: "paid" });
  api.update(2, { status: "paid" });
  await daemon.pass();
  // 6 created + 2 updated + 2 paid to erp; 6 created to crm after its two 503s.
  await erp.waitFor(10);
  await eventually(async () => (await daemon.app.store.listPending()).length === 0 && crm.requests.length === 8, "every delivery done");
});

/** Sum of a chart's marks for one series (bars: the hour's count; across hours). */
async function total(chart: Locator, series: string): Promise<number> {
  const values = await chart.locator(`rect[data-series="${series}"]`).evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-value"))));
  return values.reduce((a, b) => a + b, 0);
}

describe.skipIf(!ui.installed)("the overview's charts in headless Chromium", () => {
  it("draws events per source by type, deliveries per target by outcome, backlog and latency from the run, as /api/series gives them", async () => {
    const { body: series } = await daemon.api<SeriesView>("GET", "/api/series");
    expect(series.hours).toHaveLength(24);
    const sum = (values: number[] | undefined): number => (values ?? []).reduce((a, b) => a + b, 0);
    expect(sum(series.sources[0]!.events["item.created"])).toBe(6);
    expect(sum(series.sources[0]!.events["item.paid"])).toBe(2);
    expect(sum(series.targets.find((t) => t.name === "erp")!.deliveries.delivered)).toBe(10);
    expect(sum(series.targets.find((t) => t.name === "crm")!.deliveries.retry)).toBe(2);

    const { page } = ui.browser();
    await page.goto(`${daemon.url}/`);
    const events = page.locator('figure[data-chart="events"][data-of="legacy"]');
    await expect.poll(() => total(events, "item.created")).toBe(6);
    expect(await total(events, "item.updated")).toBe(2);
    expect(await total(events, "item.paid")).toBe(2);
    expect(await events.locator("figcaption").textContent()).toBe("events detected — 10 in 24 h, at most 10 an hour");
    expect(await events.locator(".legend [data-key]").allTextContents()).toEqual(["item.created", "item.paid", "item.updated"]);

    const erpDeliveries = page.locator('figure[data-chart="deliveries"][data-of="erp"]');
    expect(await total(erpDeliveries, "delivered")).toBe(10);
    const crmDeliveries = page.locator('figure[data-chart="deliveries"][data-of="crm"]');
    expect(await total(crmDeliveries, "delivered")).toBe(6);
    expect(await total(crmDeliveries, "retry")).toBe(2);
    expect(await crmDeliveries.locator('rect[data-series="retry"]').first().getAttribute("fill")).toBe("#0969da");

    // Latency: this hour's p50 and p99 from the attempts; the backlog line has a point per hour.
    const latency = page.locator('figure[data-chart="latency"][data-of="erp"]');
    const p50 = await latency.locator('circle[data-series="p50"]').evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-value"))));
    const p99 = await latency.locator('circle[data-series="p99"]').evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-value"))));
    expect(p50.length).toBeGreaterThanOrEqual(1);
    expect(p50[p50.length - 1]).toBe(series.targets.find((t) => t.name === "erp")!.latencyP50Ms.filter((v) => v !== null).pop());
    expect(p99[p99.length - 1]!).toBeGreaterThanOrEqual(p50[p50.length - 1]!);
    expect(await page.locator('figure[data-chart="backlog"][data-of="crm"] circle[data-series="pending"]').count()).toBe(24);

    // Drawn, not just in the DOM: the bars have a size on the page.
    const box = await events.locator('rect[data-series="item.created"]').last().boundingBox();
    expect(box!.height).toBeGreaterThan(10);
    await ui.browser().screenshot("ui-charts.png");
  });
});
