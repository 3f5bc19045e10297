import { openApp } from "../../app.js";
import { EXIT_OK } from "../../errors.js";
import { Scheduler } from "../../pipeline/scheduler.js";
import { ConfigError } from "../../errors.js";
import { checkServerConfig } from "../../server/listen.js";
import { startServer, type RunningServer } from "../../server/server.js";
import { createLogger } from "../../telemetry/logger.js";
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
    const app = await openApp(config, { logger });
    const scheduler = new Scheduler(app.sources, app.passDeps({ paced: true }), logger, (source, outcomes, ms) => app.recordPass(source, outcomes, ms));
    let server: RunningServer;
    try {
      server = await startServer({ ...app, scheduler });
    } catch (error) {
      await app.close();
      throw error;
    }
    logger.info({ address: server.url, listen: config.server.listen, adminToken: config.server.admin_token ? "required" : "not set" }, `server listening on ${server.url}`);
    await app.dispatcher?.start();
    scheduler.start();
    crashPoint("run:started");
    logger.info({ sources: app.sources.length, targets: config.targets.length }, "retrohook running");
    const signal = await new Promise<string>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    });
    logger.info({ signal, graceMs: GRACE_MS }, "stopping");
    const started = Date.now();
    await scheduler.stop(GRACE_MS);
    await app.dispatcher?.stop(Math.max(0, GRACE_MS - (Date.now() - started)));
    await server.close();
    await app.close();
    logger.info("stopped");
    return EXIT_OK;
  },
};
