/** Exit codes of the CLI (README, "Command line"). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Bad config or bad usage: exit 2. The message names what is wrong and where. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: string[] = [message],
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

export class UsageError extends Error {
  override name = "UsageError";
}

/** A state write or read failed: the pass or delivery fails loudly, nothing moves on. */
export class StateError extends Error {
  override name = "StateError";
}

/** The state database does not answer (down, restarting, unreachable): worth waiting for. */
export class StateUnavailableError extends StateError {
  override name = "StateUnavailableError";
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
