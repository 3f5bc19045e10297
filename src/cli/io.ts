import { existsSync } from "node:fs";
import { loadConfig, findConfigPath } from "../config/load.js";
import { secretValues } from "../config/secrets.js";
import type { Config } from "../config/types.js";
import { ConfigError, UsageError } from "../errors.js";
import { registerSecrets, scrub } from "../telemetry/logger.js";

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

/**
 * The same Io with every text scrubbed of registered secrets and URL credentials: what `main`
 * hands each command, so reports quoting a vendor's or a receiver's answer never carry a secret.
 */
export function scrubbedIo(io: Io): Io {
  return { ...io, out: (text) => io.out(scrub(text)), err: (text) => io.err(scrub(text)) };
}

/**
 * `-c/--config`, else `$RETROHOOK_CONFIG`, else `./config.yaml`; exit 2 saying where it looked.
 * The config's secrets (`K_file` ones included, read by now) are registered for `scrub()` before
 * the command can print anything that quotes them, whether or not it opens the app.
 */
export function configFor(explicit: string | undefined, io: Io): Config {
  const { path, looked } = findConfigPath(explicit, io.env);
  if (!existsSync(path)) {
    throw new UsageError(`no config file found (looked at: ${looked.join(", ")}); pass -c FILE or set RETROHOOK_CONFIG`);
  }
  const config = loadConfig(path, io.env);
  registerSecrets(secretValues(config));
  return config;
}

export { ConfigError };
