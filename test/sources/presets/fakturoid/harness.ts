import type { FakturoidSourceConfig } from "../../../../src/sources/presets/fakturoid/config.js";
import { loadedSource } from "../../../helpers/source-config.js";

export { beforeServing, runner, summary, presetResource, type Runner } from "../wfirma/harness.js";

export const USER_AGENT = "retrohook-tests (ops@example.com)";

export function fakturoidConfig(baseUrl: string, resources: string[], overrides: Partial<FakturoidSourceConfig> = {}): FakturoidSourceConfig {
  return loadedSource<FakturoidSourceConfig>({ name: "fakturoid", preset: "fakturoid", base_url: baseUrl, account: "acme", client_id: "cid", client_secret: "csecret", user_agent: USER_AGENT, timezone: "Europe/Prague", timeout: "5s", resources }, overrides);
}
