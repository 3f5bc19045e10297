import type { Config } from "../config/types.js";
import { errorMessage } from "../errors.js";
import { stateHeld } from "../store/open.js";
import { checkServerConfig, localUrl } from "./listen.js";

/**
 * How the operator's CLI reaches a running daemon. The daemon holds the state file's lock for
 * its whole life; while it does, commands that change state ask its admin API (at
 * `server.listen`, with `admin_token`) instead of opening the file.
 */

/**
 * Whether another process (a daemon) holds the state: the SQLite file's lock, or the
 * PostgreSQL schema's advisory lock; probed without keeping it.
 */
export async function daemonHoldsState(stateUrl: string): Promise<boolean> {
  return stateHeld(stateUrl);
}

/** The admin API answered with an error status; `message` is its `error` text. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "AdminApiError";
  }
}

export class AdminClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;

  constructor(config: Config, private readonly timeoutMs = 60_000) {
    const address = checkServerConfig(config.server);
    this.baseUrl = localUrl(address);
    this.token = config.server.admin_token || undefined;
    if (address.port === 0) {
      throw new Error(`the daemon holds the state file, but server.listen "${config.server.listen}" has port 0, so its admin API cannot be found; give server.listen a fixed port, or stop the daemon`);
    }
  }

  async request<T>(method: "GET" | "POST", path: string, body?: Record<string, unknown>): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          accept: "application/json",
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? errorMessage(error);
      throw new Error(`the daemon holds the state file, but its admin API at ${this.baseUrl} does not answer (${cause})`);
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new AdminApiError(response.status, `the admin API at ${this.baseUrl} answered HTTP ${response.status} without JSON`);
    }
    if (!response.ok) {
      const message = (data as { error?: unknown }).error;
      throw new AdminApiError(response.status, `admin API ${method} ${path}: HTTP ${response.status}: ${typeof message === "string" ? message : "no reason given"}`);
    }
    return data as T;
  }
}
