import type { FakturoidSourceConfig } from "../../../src/config/types.js";
import { presetResource } from "../wfirma/harness.js";

export { beforeServing, runner, summary, presetResource, type Runner } from "../wfirma/harness.js";

export const USER_AGENT = "retrohook-tests (ops@example.com)";

export function fakturoidConfig(baseUrl: string, resources: string[], overrides: Partial<FakturoidSourceConfig> = {}): FakturoidSourceConfig {
  return {
    name: "fakturoid",
    preset: "fakturoid",
    base_url: baseUrl,
    account: "acme",
    client_id: "cid",
    client_secret: "csecret",
    user_agent: USER_AGENT,
    schedule: "*/1 * * * *",
    reconcile: "0 */6 * * *",
    timezone: "Europe/Prague",
    overlap: 5 * 60_000,
    start: { mode: "baseline" },
    max_response_bytes: 50 * 1024 * 1024,
    timeout: 5000,
    resources: resources.map((name) => presetResource(name)),
    ...overrides,
  };
}
