import { afterEach, describe, expect, it } from "vitest";
import { restSourceYaml } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, NEVER, startDaemon, type Daemon } from "./harness.js";
import { parsePrometheusText } from "./prom-text.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function scrape(daemon: Daemon) {
  const response = await fetch(`${daemon.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

describe("/metrics", () => {
  it("counts what happened: events by type, deliveries by outcome, one dead letter, budget, suspension", async () => {
    const api: FakeRest = await startFakeRest();
    const erp: Receiver = await startReceiver();
    const rejecting: Receiver = await startReceiver({ status: 400, body: "no thanks" });
    cleanup.push(() => api.close(), () => erp.close(), () => rejecting.close());
    api.create();
    api.create();
    const daemon = await startDaemon({
      sources: [
        restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill" }),
        restSourceYaml(api.url, "wrong-token", { name: "locked", schedule: NEVER, reconcile: NEVER, budget: { requests: 1000, per: "day" } }),
      ],
      targets: [
        { name: "erp", url: erp.url, secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
        { name: "rejecting", url: rejecting.url, events: ["*.paid"] },
      ],
    });
    cleanup.push(() => daemon.stop());

    await erp.waitFor(2);
    api.update(1, { status: "paid" });
    await daemon.pass("legacy");
    await erp.waitFor(4);
    await rejecting.waitFor(1);
    await eventually(async () => (await daemon.app.store.listDeadLetters("rejecting")).length === 1, "the dead letter");
    // The receiver has the 4th request before the daemon has committed its ack (and counted it).
    await eventually(async () => (await scrape(daemon)).value("retrohook_deliveries_total", { target: "erp", outcome: "delivered" }) === 4, "the 4th delivery acked");

    const m = await scrape(daemon);
    const items = { source: "legacy", resource: "items" };
    expect(m.value("retrohook_events_detected_total", { ...items, type: "item.created" })).toBe(2);
    expect(m.value("retrohook_events_detected_total", { ...items, type: "item.updated" })).toBe(1);
    expect(m.value("retrohook_events_detected_total", { ...items, type: "item.paid" })).toBe(1);
    expect(m.value("retrohook_deliveries_total", { target: "erp", outcome: "delivered" })).toBe(4);
    expect(m.find("retrohook_deliveries_total", { target: "erp", outcome: "dead" })).toHaveLength(0);
    expect(m.value("retrohook_deliveries_total", { target: "rejecting", outcome: "dead" })).toBe(1);
    expect(m.value("retrohook_dead_letters", { target: "rejecting" })).toBe(1);
    expect(m.value("retrohook_dead_letters", { target: "erp" })).toBe(0);
    expect(m.value("retrohook_outbox_pending", { target: "erp" })).toBe(0);
    expect(m.value("retrohook_outbox_oldest_pending_age_seconds", { target: "erp" })).toBe(0);
    expect(m.value("retrohook_delivery_latency_seconds_count", { target: "erp" })).toBe(4);
    expect(m.types.get("retrohook_delivery_latency_seconds")).toBe("histogram");
    expect(m.value("retrohook_target_paused", { target: "erp", by: "operator" })).toBe(0);
    expect(m.value("retrohook_target_paused", { target: "erp", by: "breaker" })).toBe(0);

    // Sources: passes, records, requests, the last successful pass, errors, budget, suspension.
    expect(m.value("retrohook_passes_total", { ...items, mode: "incremental", outcome: "ok" })).toBe(2);
    expect(m.value("retrohook_pass_duration_seconds_count", { source: "legacy", mode: "incremental" })).toBe(2);
    expect(m.value("retrohook_records_seen_total", items)).toBeGreaterThanOrEqual(3);
    expect(m.sum("retrohook_source_requests_total", { source: "legacy", status: "200" })).toBeGreaterThanOrEqual(2);
    expect(m.value("retrohook_source_requests_total", { source: "locked", status: "401" })).toBe(1);
    const lastPass = m.value("retrohook_last_successful_pass_timestamp_seconds", items);
    expect(Math.abs(lastPass - Date.now() / 1000)).toBeLessThan(60);
    expect(m.sum("retrohook_pass_errors_total", { source: "locked" })).toBe(1);
    expect(m.value("retrohook_suspended", { source: "locked", resource: "" })).toBe(1);
    expect(m.value("retrohook_suspended", { source: "legacy", resource: "items" })).toBe(0);
    expect(m.value("retrohook_budget_used_requests", { source: "locked" })).toBe(1);
    expect(m.value("retrohook_budget_left_requests", { source: "locked" })).toBe(999);

    // Gauges follow the state at each scrape: an operator pause and a pending delivery.
    await daemon.api("POST", "/api/targets/erp/pause", {});
    api.create();
    await daemon.pass("legacy");
    const after = await scrape(daemon);
    expect(after.value("retrohook_target_paused", { target: "erp", by: "operator" })).toBe(1);
    expect(after.value("retrohook_outbox_pending", { target: "erp" })).toBe(1);
    expect(after.value("retrohook_events_detected_total", { ...items, type: "item.created" })).toBe(3);
  });

  it("needs no token, even when the admin API does", async () => {
    const api = await startFakeRest();
    cleanup.push(() => api.close());
    const daemon = await startDaemon({
      server: { listen: "127.0.0.1:0", admin_token: "metrics-test-admin-token" },
      sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER })],
      targets: [],
    });
    cleanup.push(() => daemon.stop());
    expect((await fetch(`${daemon.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${daemon.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${daemon.url}/api/status`)).status).toBe(401);
  });
});
