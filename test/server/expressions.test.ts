import { describe, expect, it } from "vitest";
import type { LogEntryView, StatusView } from "../../src/server/read-model.js";
import { restSourceYaml } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { startReceiver } from "../helpers/receiver.js";
import { closingAfterEach } from "../helpers/closing.js";
import { eventually, NEVER, startDaemon } from "./harness.js";
import { parsePrometheusText } from "./prom-text.js";

const closeLater = closingAfterEach();

describe("filtered events in the daemon", () => {
  it("are counted per target in /metrics and listed as `filtered` in the delivery log; they do not make a target look failing", async () => {
    const api = closeLater(await startFakeRest());
    const big = closeLater(await startReceiver());
    const erp = closeLater(await startReceiver());
    api.create({ amount: "5000.00" });
    api.create({ amount: "20.00" });
    api.create({ amount: "30.00" });
    const daemon = await startDaemon({
      sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill" })],
      expressions: { large: "$number(data.object.amount) >= 1000" },
      targets: [
        { name: "big", url: big.url, filter: { use: "large" } },
        { name: "erp", url: erp.url, filter: "true", transform: '{"amount": $number(data.object.amount)}' },
        { name: "broken", url: erp.url, transform: "$error('no mapping')" },
      ],
    });
    closeLater({ close: () => daemon.stop() });
    await big.waitFor(1);
    await erp.waitFor(3);
    await eventually(async () => (await daemon.app.store.listPending()).length === 0, "every delivery settled");

    const metrics = parsePrometheusText((await daemon.api("GET", "/metrics")).text);
    expect(metrics.value("retrohook_deliveries_total", { target: "big", outcome: "filtered" })).toBe(2);
    expect(metrics.value("retrohook_deliveries_total", { target: "big", outcome: "delivered" })).toBe(1);
    expect(metrics.find("retrohook_deliveries_total", { target: "erp", outcome: "filtered" })).toHaveLength(0);
    expect(metrics.value("retrohook_deliveries_total", { target: "erp", outcome: "delivered" })).toBe(3);
    expect(metrics.value("retrohook_deliveries_total", { target: "broken", outcome: "dead" })).toBe(3);
    expect(metrics.value("retrohook_dead_letters", { target: "broken" })).toBe(3);
    expect(erp.requests.map((r) => JSON.parse(r.body)).sort((a, b) => a.amount - b.amount)).toEqual([{ amount: 20 }, { amount: 30 }, { amount: 5000 }]);

    const log = await daemon.api<LogEntryView[]>("GET", "/api/log?target=big&status=filtered");
    expect(log.status).toBe(200);
    expect(log.body).toHaveLength(2);
    expect(log.body.every((entry) => entry.outcome === "filtered" && entry.target === "big" && entry.eventType === "item.created")).toBe(true);
    const dead = await daemon.api<LogEntryView[]>("GET", "/api/log?target=broken");
    expect(dead.body.map((entry) => entry.error)).toEqual(Array(3).fill(expect.stringMatching(/^transform targets\[2\]\.transform failed on legacy\/items\/\d+ \(event evt_[0-9a-f]+\): no mapping/)));

    // A filtered event after the last delivery leaves the target healthy.
    api.create({ amount: "1.00" });
    await daemon.pass("legacy");
    const status = await daemon.api<StatusView>("GET", "/api/status");
    const bigView = status.body.targets.find((t) => t.name === "big")!;
    expect(bigView.health).toBe("ok");
    expect(bigView.lastAttempt?.outcome).toBe("delivered");
    expect((await daemon.api<LogEntryView[]>("GET", "/api/log?target=big&status=filtered")).body).toHaveLength(3);
    expect(parsePrometheusText((await daemon.api("GET", "/metrics")).text).value("retrohook_deliveries_total", { target: "big", outcome: "filtered" })).toBe(3);
  });
});
