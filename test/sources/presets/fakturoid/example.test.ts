import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../src/config/load.js";

const FILE = fileURLToPath(new URL("../../../../examples/fakturoid.yaml", import.meta.url));

describe("examples/fakturoid.yaml", () => {
  it("loads with its variables set, secrets from the environment", () => {
    const config = loadConfig(FILE, { FAKTUROID_CLIENT_ID: "cid", FAKTUROID_CLIENT_SECRET: "cs", ERP_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    expect(config.sources[0]).toMatchObject({ preset: "fakturoid", account: "mycompany", client_secret: "cs", budget: { requests: 1500, per: "month" } });
  });
});
