import { beforeEach, describe, expect, it } from "vitest";
import { startCli, waitFor } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { startReceiver, verifySignature, type Receiver } from "../helpers/receiver.js";
import { closingAfterEach } from "../helpers/closing.js";

let api: FakeRest;
let costs: Receiver;
let paid: Receiver;
const COSTS_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PAID_SECRET = "plain-raw-secret-for-paid";

const closeLater = closingAfterEach();
beforeEach(async () => {
  api = closeLater(await startFakeRest());
  costs = closeLater(await startReceiver());
  paid = closeLater(await startReceiver());
});

describe("retrohook run", () => {
  it("delivers changes to two targets with different filters, each signed for its own secret; SIGTERM exits 0", async () => {
    for (let i = 0; i < 3; i += 1) api.create();
    const { path } = writeConfig({
      sources: [restSourceYaml(api.url, api.token)],
      targets: [
        { name: "all-items", url: costs.url, secret: COSTS_SECRET, events: ["item.*"] },
        { name: "payments", url: paid.url, secret: PAID_SECRET, events: ["*.paid"] },
      ],
    });
    const daemon = startCli(["run", "-c", path], { RETROHOOK_LOG_LEVEL: "info" });
    try {
      await waitFor(() => /pass done/.test(daemon.stderr()), 20_000, "first pass");
      api.create({ name: "fresh" });
      api.update(2, { status: "paid" });
      await costs.waitFor(3, 20_000);
      await paid.waitFor(1, 20_000);
      const types = costs.bodies<{ type: string; record_id: string }>().map((b) => `${b.type}:${b.record_id}`);
      expect(types.sort()).toEqual(["item.created:4", "item.paid:2", "item.updated:2"]);
      expect(paid.bodies<{ type: string }>().map((b) => b.type)).toEqual(["item.paid"]);
      for (const request of costs.requests) verifySignature(request, COSTS_SECRET);
      for (const request of paid.requests) verifySignature(request, PAID_SECRET);
      expect(() => verifySignature(paid.requests[0]!, COSTS_SECRET)).toThrow();
      expect(costs.requests[0]!.headers["webhook-id"]).toBe(JSON.parse(costs.requests[0]!.body).id);
    } finally {
      daemon.child.kill("SIGTERM");
    }
    const result = await daemon.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/stopped/);
  });
});
