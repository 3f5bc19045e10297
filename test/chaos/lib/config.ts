import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { restSourceYaml } from "../../helpers/rest-source.js";
import { SECRETS } from "./secrets.js";

/**
 * A config file as users write it (YAML), state under `<dir>/state/` unless `stateDir` (or a
 * whole `stateUrl`, e.g. PostgreSQL) says otherwise, the server on a free loopback port with an admin token.
 */
export function writeConfig(dir: string, config: Record<string, unknown>, options: { stateDir?: string; stateUrl?: string } = {}): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "config.yaml");
  const state = options.stateUrl ?? (options.stateDir ? `sqlite://${join(options.stateDir, "state.sqlite")}` : "sqlite://./state/state.sqlite");
  writeFileSync(path, stringify({ state: { url: state }, server: { listen: "127.0.0.1:0", admin_token: SECRETS.adminToken }, ...config }));
  return path;
}

export function stateFile(dir: string, stateDir?: string): string {
  return stateDir ? join(stateDir, "state.sqlite") : join(dir, "state", "state.sqlite");
}

/** The generic REST source over test/helpers/fake-rest.ts, polled only when asked (page size and timings as given). */
export function restSource(baseUrl: string, extra: Record<string, unknown> = {}, resource: Record<string, unknown> = {}): Record<string, unknown> {
  return restSourceYaml(baseUrl, SECRETS.restToken, { schedule: "0 0 1 1 *", reconcile: "0 0 1 1 *", ...extra }, resource);
}

export function target(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: "erp", url, secret: SECRETS.webhookSecret, timeout: "2s", ...extra };
}
