import { describe, expect, it } from "vitest";
import { browserSuite } from "../../helpers/browser.js";
import { restSourceYaml } from "../../helpers/config-file.js";
import { startFakeRest } from "../../helpers/fake-rest.js";
import { startReceiver, type Receiver } from "../../helpers/receiver.js";
import { eventually, NEVER, startDaemon, type Daemon } from "../harness.js";

/** Filtered events in the web UI: per target, and in the delivery log. */

let big: Receiver;
let daemon: Daemon;

const ui = browserSuite(async (keep) => {
  const api = keep(await startFakeRest());
  big = keep(await startReceiver());
  api.create({ name: "Large", amount: "5000.00" });
  api.create({ name: "Small", amount: "20.00" });
  api.create({ name: "Tiny", amount: "3.00" });
  daemon = keep(await startDaemon({
    sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill" })],
    expressions: { large: "$number(data.object.amount) >= 1000" },
    targets: [{ name: "big", url: big.url, filter: { use: "large" }, transform: '{"name": data.object.name}' }],
  }));
  await eventually(async () => big.requests.length === 1 && (await daemon.app.store.listPending()).length === 0, "the large one delivered");
});

describe.skipIf(!ui.installed)("filtered events in the web UI (headless Chromium)", () => {
  it("shows a target's filter and transform, how many events it filtered out, and lists them in the log", async () => {
    const { page } = ui.browser();
    await page.goto(`${daemon.url}/`);
    const row = page.locator('#targets tr[data-target="big"]');
    await expect.poll(() => row.locator("[data-health]").textContent()).toBe("ok");
    expect(await row.locator("[data-expressions]").textContent()).toBe("filter expressions.large · transform targets[0].transform");
    const link = row.locator("[data-filtered]");
    expect(await link.textContent()).toBe("2 filtered out (recent log)");
    await link.click();

    const rows = page.locator("#log tbody tr.clickable");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.locator("form.filters select[name=status]").inputValue()).toBe("filtered");
    for (const badge of await rows.locator("[data-health]").allTextContents()) expect(badge).toBe("filtered");
    await ui.browser().screenshot("ui-filtered.png");

    // All outcomes: the delivered one beside the two filtered ones.
    await page.locator("form.filters select[name=status]").selectOption("");
    await page.locator("form.filters button[type=submit]").click();
    await expect.poll(() => rows.count()).toBe(3);
    expect((await rows.locator("[data-health]").allTextContents()).sort()).toEqual(["delivered", "filtered", "filtered"]);
  });
});
