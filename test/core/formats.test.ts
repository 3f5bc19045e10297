import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { TargetConfig } from "../../src/config/types.js";
import { renderBody, typeSingular } from "../../src/core/formats/index.js";
import type { EventEnvelope } from "../../src/core/types.js";

const envelope: EventEnvelope = {
  id: "evt_2f1c",
  type: "cost_invoice.paid",
  source: "fakturownia",
  resource: "cost_invoices",
  kind: null,
  record_id: "123",
  detected_at: "2026-11-23T10:00:00.000Z",
  data: { object: { id: 123, status: "paid", price_gross: "1230.00" }, previous: { status: "issued" } },
};
const event = { envelope, body: JSON.stringify(envelope) };

function target(overrides: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name: "erp",
    url: "http://127.0.0.1:1/hooks",
    secret: "whsec_c2VjcmV0",
    format: "standard",
    timeout: 10_000,
    headers: {},
    retry: { max_age: 72 * 3_600_000 },
    concurrency: 4,
    ...overrides,
  };
}

describe("renderBody", () => {
  it("standard: the stored body, unchanged", () => {
    const stored = { envelope, body: '{"id":"evt_2f1c", "spacing":"kept as detected"}' };
    const out = renderBody("standard", stored, target());
    expect(out).toEqual({ body: stored.body, contentType: "application/json", extraHeaders: {} });
  });

  it("cloudevents: CloudEvents 1.0 structured mode", () => {
    const out = renderBody("cloudevents", event, target({ format: "cloudevents" }));
    expect(out.contentType).toBe("application/cloudevents+json");
    expect(out.extraHeaders).toEqual({});
    expect(JSON.parse(out.body)).toEqual({
      specversion: "1.0",
      id: "evt_2f1c",
      type: "com.retrohook.cost_invoice.paid",
      source: "retrohook/fakturownia",
      subject: "123",
      time: "2026-11-23T10:00:00.000Z",
      datacontenttype: "application/json",
      data: envelope.data,
    });
  });

  it("cloudevents: no subject for an event without a record", () => {
    const test = { ...envelope, type: "retrohook.test", resource: null, record_id: null, data: { object: {} } };
    const out = JSON.parse(renderBody("cloudevents", { envelope: test, body: JSON.stringify(test) }, target()).body) as Record<string, unknown>;
    expect(out).not.toHaveProperty("subject");
  });

  it("fakturownia: the vendor's webhook shape with the target's own api_token", () => {
    const out = renderBody("fakturownia", event, target({ format: "fakturownia", api_token: "target-token", locale: "en" }));
    expect(out.contentType).toBe("application/json");
    expect(JSON.parse(out.body)).toEqual({
      cost_invoice: envelope.data.object,
      api_token: "target-token",
      app_name: "fakturownia",
      locale: "en",
    });
    expect(Object.keys(JSON.parse(out.body) as object)[0]).toBe("cost_invoice");
  });

  it("fakturownia: defaults to locale pl and an empty api_token, never another token", () => {
    const parsed = JSON.parse(renderBody("fakturownia", event, target({ format: "fakturownia" })).body) as Record<string, unknown>;
    expect(parsed.api_token).toBe("");
    expect(parsed.locale).toBe("pl");
  });

  it("facturascripts: {id, event, created, data: {object}} with X-Webhook-Signature", () => {
    const secret = "fs-secret";
    const out = renderBody("facturascripts", event, target({ format: "facturascripts", secret }));
    expect(JSON.parse(out.body)).toEqual({
      id: "evt_2f1c",
      event: "cost_invoice.paid",
      created: Date.parse("2026-11-23T10:00:00.000Z") / 1000,
      data: { object: envelope.data.object },
    });
    expect(out.extraHeaders["x-webhook-signature"]).toBe(createHmac("sha256", secret).update(out.body).digest("hex"));
  });

  it("facturascripts: no signature header without a secret", () => {
    const out = renderBody("facturascripts", event, target({ format: "facturascripts", secret: undefined }));
    expect(out.extraHeaders).toEqual({});
  });

  it.each(["standard", "cloudevents", "fakturownia", "facturascripts"] as const)("%s is deterministic", (format) => {
    const t = target({ format, api_token: "x" });
    expect(renderBody(format, event, t)).toEqual(renderBody(format, { envelope: structuredClone(envelope), body: event.body }, t));
  });

  it("typeSingular takes everything before the last dot", () => {
    expect(typeSingular("cost_invoice.paid")).toBe("cost_invoice");
    expect(typeSingular("legacy.cost.created")).toBe("legacy.cost");
    expect(typeSingular("plain")).toBe("plain");
  });
});
