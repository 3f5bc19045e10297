import { join } from "node:path";
import { stringify } from "yaml";
import { openApp, type App } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";
import { Scheduler } from "../../src/pipeline/scheduler.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { silentLogger, type Logger } from "../../src/telemetry/logger.js";
import { SeriesRecorder } from "../../src/telemetry/series.js";
import { tempDir } from "../helpers/tmp.js";

/** A cron expression that does not fire during a test: passes run when the test asks. */
export const NEVER = "0 0 1 1 *";

export interface Daemon {
  app: App;
  scheduler: Scheduler;
  server: RunningServer;
  url: string;
  /** JSON request to the server; `token` adds `Authorization: Bearer`. */
  api<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T; text: string; headers: Headers }>;
  /** Runs a pass now through the admin API and waits for it. */
  pass(source?: string, mode?: "incremental" | "reconcile"): Promise<void>;
  stop(): Promise<void>;
}

/** A JSON request to a running server at `baseUrl` (this process's or a `retrohook run` child's). */
export async function adminRequest<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T; text: string; headers: Headers }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsedBody: unknown = text;
  try {
    parsedBody = JSON.parse(text);
  } catch {
    // not JSON (metrics, UI)
  }
  return { status: response.status, body: parsedBody as T, text, headers: response.headers };
}

/**
 * The daemon of `retrohook run` in this process, built from YAML as a user writes it: app,
 * scheduler (cron jobs that never fire, plus the start-up pass), dispatcher and server on
 * 127.0.0.1 port 0.
 */
export async function startDaemon(config: Record<string, unknown>, options: { logger?: Logger; dir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Daemon> {
  const dir = options.dir ?? tempDir();
  const yaml = stringify({ state: { url: "sqlite://./state.sqlite" }, server: { listen: "127.0.0.1:0" }, ...config });
  const parsed = parseConfig(yaml, { path: join(dir, "config.yaml"), env: options.env ?? {} });
  const logger = options.logger ?? silentLogger();
  const app = await openApp(parsed, { logger });
  const scheduler = new Scheduler(app.sources, app.passDeps({ paced: true }), logger, (source, outcomes, ms) => app.recordPass(source, outcomes, ms));
  const series = new SeriesRecorder(app.store, app.metrics, app.clock, logger);
  const server = await startServer({ ...app, scheduler, series });
  await app.dispatcher?.start();
  scheduler.start();
  const firstPasses = parsed.sources.map(async (s) => {
    while (scheduler.state(s.name)?.running || !scheduler.state(s.name)?.lastOutcomes) await new Promise((r) => setTimeout(r, 20));
  });
  await Promise.all(firstPasses);

  const api: Daemon["api"] = (method, path, body, token) => adminRequest(server.url, method, path, body, token);
  const token = parsed.server.admin_token;
  return {
    app,
    scheduler,
    server,
    url: server.url,
    api,
    async pass(source = parsed.sources[0]!.name, mode = "incremental") {
      const result = await api<{ state: string }>("POST", `/api/sources/${source}/pass`, { mode, wait: true }, token);
      if (result.status !== 200 || result.body.state !== "done") throw new Error(`pass of ${source}: ${result.text}`);
    },
    async stop() {
      await scheduler.stop(2000);
      await app.dispatcher?.stop(2000);
      await server.close();
      await app.close();
    },
  };
}

/** Waits until `check()` holds (polling), or throws naming `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
