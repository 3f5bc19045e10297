import { existsSync } from "node:fs";
import { loadConfig, findConfigPath } from "../config/load.js";
import type { Config } from "../config/types.js";
import { ConfigError, UsageError } from "../errors.js";

/** What every command writes to: stdout for results, stderr for everything else. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

/** `-c/--config`, else `$RETROHOOK_CONFIG`, else `./config.yaml`; exit 2 saying where it looked. */
export function configFor(explicit: string | undefined, io: Io): Config {
  const { path, looked } = findConfigPath(explicit, io.env);
  if (!existsSync(path)) {
    throw new UsageError(`no config file found (looked at: ${looked.join(", ")}); pass -c FILE or set RETROHOOK_CONFIG`);
  }
  return loadConfig(path, io.env);
}

export { ConfigError };
