import { createHmac } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { startReceiver, verifySignature, type Receiver } from "../helpers/receiver.js";
import { closingAfterEach } from "../helpers/closing.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
let api: FakeRest;
const receivers: Record<string, Receiver> = {};

const closeLater = closingAfterEach();
beforeEach(async () => {
  api = closeLater(await startFakeRest({ token: "SECRET-source-token-555" }));
  for (const format of ["standard", "cloudevents", "fakturownia", "facturascripts"]) receivers[format] = closeLater(await startReceiver());
});

describe("the four payload formats, as a receiver sees them", () => {
  it("standard, cloudevents, fakturownia and facturascripts bodies and headers", async () => {
    api.create({ name: "Consulting", status: "paid" });
    const { path } = writeConfig({
      sources: [restSourceYaml(api.url, api.token, { start: "backfill", resources: [{ name: "items", type_prefix: "cost_invoice", path: "/items" }] })],
      targets: [
        { name: "standard", url: receivers.standard!.url, secret: SECRET },
        { name: "cloudevents", url: receivers.cloudevents!.url, secret: SECRET, format: "cloudevents" },
        { name: "fakturownia", url: receivers.fakturownia!.url, secret: SECRET, format: "fakturownia", api_token: "receiver-check-token", locale: "en" },
        { name: "facturascripts", url: receivers.facturascripts!.url, secret: SECRET, format: "facturascripts" },
      ],
    });
    const result = await runCli(["once", "-c", path]);
    expect(result.code, result.stderr).toBe(0);
    const [standard] = receivers.standard!.requests;
    const [cloud] = receivers.cloudevents!.requests;
    const [fakt] = receivers.fakturownia!.requests;
    const [fs] = receivers.facturascripts!.requests;
    for (const request of [standard!, cloud!, fakt!, fs!]) {
      // Standard Webhooks headers on every format, verified by the standardwebhooks package.
      verifySignature(request, SECRET);
      expect(request.headers["webhook-id"]).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(Number(request.headers["webhook-timestamp"])).toBeGreaterThan(Date.now() / 1000 - 60);
    }

    const envelope = JSON.parse(standard!.body);
    expect(standard!.headers["content-type"]).toMatch(/^application\/json/);
    expect(envelope).toEqual({
      id: standard!.headers["webhook-id"],
      type: "cost_invoice.created",
      source: "legacy",
      resource: "items",
      kind: null,
      record_id: "1",
      detected_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      data: { object: expect.objectContaining({ id: 1, name: "Consulting", status: "paid" }) },
    });

    expect(cloud!.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(cloud!.body)).toMatchObject({
      specversion: "1.0",
      id: envelope.id,
      type: "com.retrohook.cost_invoice.created",
      source: "retrohook/legacy",
      subject: "1",
      time: envelope.detected_at,
      data: envelope.data,
    });

    const native = JSON.parse(fakt!.body);
    expect(native).toEqual({ cost_invoice: envelope.data.object, api_token: "receiver-check-token", app_name: "fakturownia", locale: "en" });
    expect(fakt!.body).not.toContain("SECRET-source-token-555");

    const body = JSON.parse(fs!.body);
    expect(body).toMatchObject({ id: envelope.id, event: "cost_invoice.created", data: { object: envelope.data.object } });
    expect(body.created).toBeDefined();
    // Hex HMAC-SHA256 of the body keyed with the secret as written (what PHP's hash_hmac does).
    expect(fs!.headers["x-webhook-signature"]).toBe(createHmac("sha256", SECRET).update(fs!.body).digest("hex"));
  });
});
