import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { stringify } from "yaml";
import { openApp } from "../../app.js";
import { parseConfig } from "../../config/load.js";
import { seedDemo, simulateStep } from "../../demo/simulation.js";
import { startDemoReceiver } from "../../demo/receiver.js";
import { EXIT_OK, UsageError } from "../../errors.js";
import { parseDuration } from "../../config/duration.js";
import { Scheduler } from "../../pipeline/scheduler.js";
import { startServer } from "../../server/server.js";
import { SeriesRecorder } from "../../telemetry/series.js";
import { startFakturowniaFake } from "../../simulators/fakturownia/fake.js";
import { createLogger } from "../../telemetry/logger.js";
import type { Command } from "./command.js";

export const demoCommand: Command = {
  name: "demo",
  summary: "the whole pipeline against a built-in simulated vendor (no account, no config)",
  help: `Usage: retrohook demo [--for DURATION] [--data DIR]

Starts a simulated Fakturownia account (the shipped fake) where a bookkeeper creates, edits,
pays and deletes documents every few seconds, a receiver that verifies each webhook's signature
and prints it, and the daemon polling every 2 seconds with SQLite state in ./data (--data).
It runs until Ctrl-C. --for 60s (or 2m, …) stops by itself after that long and prints a
summary; --seconds N is the same as --for Ns.
`,
  options: { for: { type: "string" }, seconds: { type: "string" }, data: { type: "string" } },
  async run(values, io) {
    const runFor = demoDuration(values.for as string | undefined, values.seconds as string | undefined);
    const dataDir = resolve(String(values.data ?? "data"));
    mkdirSync(dataDir, { recursive: true });
    // The simulated account is new on every start: so is the demo's state.
    for (const suffix of ["", "-wal", "-shm", ".lock"]) rmSync(resolve(dataDir, `demo.sqlite${suffix}`), { force: true });
    const token = randomBytes(12).toString("hex");
    const secret = `whsec_${randomBytes(24).toString("base64")}`;
    const fake = await startFakturowniaFake({ apiToken: token });
    seedDemo(fake);
    const receiver = await startDemoReceiver(secret, (line) => io.out(`${line}\n`));
    const yaml = stringify({
      state: { url: `sqlite://${resolve(dataDir, "demo.sqlite")}` },
      server: { listen: "127.0.0.1:0" },
      sources: [
        {
          name: "demo-fakturownia",
          preset: "fakturownia",
          base_url: fake.url,
          api_token: token,
          schedule: "*/2 * * * * *",
          reconcile: "*/20 * * * * *",
          resources: ["invoices", "cost_invoices", "warehouse_documents", "payments"],
        },
      ],
      targets: [{ name: "demo-receiver", url: receiver.url, secret }],
    });
    const config = parseConfig(yaml, { path: resolve(dataDir, "demo.yaml"), env: {} });
    const logger = createLogger({ level: process.env.RETROHOOK_LOG_LEVEL ?? "warn" });
    const app = await openApp(config, { logger });
    const scheduler = new Scheduler(app.sources, app.passDeps({ paced: true }), logger, (source, outcomes, ms) => app.recordPass(source, outcomes, ms));
    await app.dispatcher?.start();
    scheduler.start();
    // The web UI's charts: the daemon's counters sampled each minute, as `run` does.
    const series = new SeriesRecorder(app.store, app.metrics, app.clock, logger);
    series.start();
    const server = await startServer({ ...app, scheduler, series });
    io.out(
      [
        "retrohook demo",
        `  simulated Fakturownia account: ${fake.url}  (cost invoices, warehouse documents and payments have no native webhooks)`,
        `  webhook receiver:               ${receiver.url}  (verifies every signature with standardwebhooks)`,
        `  state:                          ${resolve(dataDir, "demo.sqlite")}`,
        `  admin UI and API:               ${server.url}/  (metrics at ${server.url}/metrics)`,
        `  the first pass records what exists; then every change below arrives as a signed webhook. ${runFor ? `Stops after ${Math.round(runFor / 1000)} s (or Ctrl-C).` : "Ctrl-C stops."}`,
        "",
      ].join("\n"),
    );
    let changes = 0;
    const ticker = setInterval(() => {
      const action = simulateStep(fake);
      if (action) {
        changes += 1;
        io.out(`  · ${action}\n`);
      }
    }, 3000);
    const started = Date.now();
    await new Promise<void>((done) => {
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
      if (runFor) setTimeout(done, runFor).unref();
    });
    clearInterval(ticker);
    const pending = (await app.store.listPending()).length;
    io.out(`\nstopping: ${receiver.received} webhooks received and verified\n`);
    io.out(
      `summary: ran ${Math.round((Date.now() - started) / 1000)} s; ${changes} changes made in the simulated account; ${receiver.received} webhooks received and verified; ${pending} still pending. ` +
        "Next: copy config.example.yaml to config.yaml, then retrohook validate and retrohook once --dry-run (a first pass prints nothing: it is the silent baseline).\n",
    );
    await scheduler.stop(5000);
    await app.dispatcher?.stop(5000);
    await series.stop();
    await server.close();
    await app.close();
    await receiver.close();
    await fake.close();
    return EXIT_OK;
  },
};

/** `--for 60s` (any config duration) or the older `--seconds N`; undefined runs until Ctrl-C. */
function demoDuration(forText: string | undefined, seconds: string | undefined): number | undefined {
  const text = forText ?? (seconds !== undefined ? `${seconds}s` : undefined);
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (!parsed.ok || parsed.value <= 0) throw new UsageError(`--for ${text}: expected a duration such as 60s or 2m`);
  return parsed.value;
}
