import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { tempDir } from "./tmp.js";

/** Writes a config as YAML into a fresh folder (state beside it) and returns its path. */
export function writeConfig(config: Record<string, unknown>, dir = tempDir()): { path: string; dir: string } {
  const path = join(dir, "config.yaml");
  writeFileSync(path, stringify({ state: { url: "sqlite://./data/state.sqlite" }, server: { listen: "127.0.0.1:0" }, ...config }));
  return { path, dir };
}

/** A `type: rest` source for the fake REST API of test/helpers/fake-rest.ts. */
export function restSourceYaml(url: string, token: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "legacy",
    type: "rest",
    base_url: url,
    headers: { Authorization: `Bearer ${token}` },
    schedule: "*/1 * * * * *",
    resources: [
      {
        name: "items",
        type_prefix: "item",
        path: "/items",
        cursor: { field: "modified_at", param: "modified_since" },
        pagination: { style: "page", page_param: "page", size_param: "per_page", size: 100 },
        get: "/items/{id}",
        paid: { field: "status", to: "paid" },
      },
    ],
    ...extra,
  };
}
