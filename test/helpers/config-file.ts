import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { tempDir } from "./tmp.js";

export { restSourceYaml } from "./rest-source.js";

/** Writes a config as YAML into a fresh folder (state beside it) and returns its path. */
export function writeConfig(config: Record<string, unknown>, dir = tempDir()): { path: string; dir: string } {
  const path = join(dir, "config.yaml");
  writeFileSync(path, stringify({ state: { url: "sqlite://./data/state.sqlite" }, server: { listen: "127.0.0.1:0" }, ...config }));
  return { path, dir };
}
