import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../src/config/load.js";
import { wfirmaIdlePassCost } from "../../../../src/sources/presets/wfirma/index.js";

const FILE = fileURLToPath(new URL("../../../../examples/wfirma.yaml", import.meta.url));

describe("examples/wfirma.yaml", () => {
  it("loads with its variables set, secrets from the environment", () => {
    const config = loadConfig(FILE, { WFIRMA_ACCESS_KEY: "ak", WFIRMA_SECRET_KEY: "sk", WFIRMA_APP_KEY: "app", ERP_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });
    const source = config.sources[0]!;
    expect(source).toMatchObject({ preset: "wfirma", secret_key: "sk", company_id: "123456", timezone: "Europe/Warsaw" });
    expect(wfirmaIdlePassCost(source as Parameters<typeof wfirmaIdlePassCost>[0])).toBe(15);
  });
});
