import type { Server } from "node:http";
import { openApp, type App } from "../../app.js";
import { createDaemon } from "../../daemon.js";
import type { Config } from "../../config/types.js";
import { StateUnavailableError, errorMessage } from "../../errors.js";
import { startWaitingServer } from "../../server/waiting.js";
import type { Logger } from "../../telemetry/logger.js";
import { EXIT_OK } from "../../errors.js";
import { Retention } from "../../pipeline/retention.js";
import { ConfigError } from "../../errors.js";
import { checkServerConfig } from "../../server/listen.js";
import { startServer, type RunningServer } from "../../server/server.js";
import { createLogger } from "../../telemetry/logger.js";
import { SeriesRecorder } from "../../telemetry/series.js";
import { crashPoint } from "../../testing/fault-injection.js";
import { configFor } from "../io.js";
import type { Command } from "./command.js";

/** How long SIGTERM/SIGINT wait for in-flight passes and deliveries (ms). */
const GRACE_MS = Number(process.env.RETROHOOK_GRACE_MS ?? 10_000);

export const runCommand: Command = {
  name: "run",
  summary: "the daemon: poll on schedule, deliver continuously",
  help: `Usage: retrohook run [-c FILE]

Runs one pass per source at start, then every source's \`schedule\` (incremental) and
\`reconcile\` (complete) cron jobs, and delivers events continuously. SIGTERM or SIGINT stop
scheduling, let in-flight work finish within a grace period, release the state lock and exit 0.

With \`cluster\` (PostgreSQL state), several \`retrohook run\` share the work: each source is
polled by one replica at a time (a lease), a dead replica's sources are taken over within the
lease, and SIGTERM hands this replica's sources over at once. RETROHOOK_REPLICA_ID names it.

Serves /healthz, /readyz, /metrics, the admin API (/api/) and the web UI (/) on server.listen
(default 127.0.0.1:8080; port 0 picks a free port; the bound address is logged). Off loopback
it refuses to start without server.admin_token (exit 2).
`,
  options: {},
  async run(values, io) {
    const config = configFor(values.config as string | undefined, io);
    try {
      checkServerConfig(config.server);
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`${config.path}: ${error.message}`);
      throw error;
    }
    const logger = createLogger();
    const app = await openWhenStateAnswers(config, logger);
    const daemon = createDaemon(app);
    const scheduler = daemon.scheduler;
    const retention = new Retention(app.store, config.state.retention, app.clock, logger.child({ component: "retention" }), app.metrics);
    scheduler.observeTicks((due, fired) => retention.noteTick(due, fired));
    const series = new SeriesRecorder(app.store, app.metrics, app.clock, logger.child({ component: "charts" }));
    let server: RunningServer;
    try {
      server = await startServer({ ...app, scheduler, retention, series });
    } catch (error) {
      await app.close();
      throw error;
    }
    logger.info({ address: server.url, listen: config.server.listen, adminToken: config.server.admin_token ? "required" : "not set" }, `server listening on ${server.url}`);
    try {
      await daemon.start();
    } catch (error) {
      await server.close();
      await app.close();
      throw error;
    }
    retention.start(undefined, app.replica ? () => app.replica!.sweepsRetention() : undefined);
    series.start();
    crashPoint("run:started");
    logger.info({ sources: app.sources.length, targets: config.targets.length }, "retrohook running");
    const signal = await new Promise<string>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    });
    logger.info({ signal, graceMs: GRACE_MS }, "stopping");
    await retention.stop();
    // A replica drains: no new work, running passes and deliveries finish (within the grace),
    // then its leases are released at once for the others to take.
    await daemon.stop(GRACE_MS);
    await series.stop();
    await server.close();
    await app.close();
    logger.info("stopped");
    return EXIT_OK;
  },
};

/** Delay between attempts to reach the state database at start: 1 s doubling to 30 s. */
const STATE_RETRY_MAX_MS = 30_000;

/**
 * Opens the app; while the state database does not answer (PostgreSQL down or restarting),
 * logs why, serves /healthz 200 and /readyz 503, and tries again until it does or a signal
 * stops the wait.
 */
async function openWhenStateAnswers(config: Config, logger: Logger): Promise<App> {
  let waiting: Server | undefined;
  let reason = "";
  let delay = 1_000;
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    for (;;) {
      try {
        return await openApp(config, { logger, replica: true });
      } catch (error) {
        if (!(error instanceof StateUnavailableError) || stop.signal.aborted) throw error;
        reason = errorMessage(error);
        logger.error({ retryInMs: delay }, `state database not reachable, waiting for it (retry in ${Math.round(delay / 1000)} s): ${reason}`);
        waiting ??= await startWaitingServer(config.server, () => reason);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          stop.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        if (stop.signal.aborted) throw error;
        delay = Math.min(delay * 2, STATE_RETRY_MAX_MS);
      }
    }
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    if (waiting) {
      const server = waiting;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }
}
