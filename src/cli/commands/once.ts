import { Retention } from "../../pipeline/retention.js";
import { openApp, removedTargetNotice } from "../../app.js";
import type { TargetConfig } from "../../config/types.js";
import { routeWithExpressions, type Routing } from "../../core/routing.js";
import type { EventEnvelope } from "../../core/types.js";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../../errors.js";
import { runSourcePass, type PassOutcome } from "../../pipeline/poll-pass.js";
import { createLogger } from "../../telemetry/logger.js";
import { configFor, type Io } from "../io.js";
import type { Command } from "./command.js";

export const onceCommand: Command = {
  name: "once",
  summary: "one pass of every source (or one), then one attempt per due delivery, and exit",
  help: `Usage: retrohook once [--source NAME] [--reconcile] [--dry-run] [-c FILE]

One incremental pass of every source (or only --source), or with --reconcile one complete
reconcile pass; then one attempt for every delivery that is due (all sources), never waiting
for a later retry. Pending retries are listed on stderr with their next attempt time.

  --source NAME   only this source
  --reconcile     a complete reconcile pass (the only kind that can find deletions)
  --dry-run       print one standard envelope per line on stdout, exactly as a standard
                  target would receive it; state is opened read-only and never created.
                  On stderr after each event: per target, whether it passes the target's
                  filter, is filtered out, fails (filter or transform, with the reason) or
                  is not subscribed

Exit 0 when every pass succeeded and nothing was dead-lettered; 1 when a pass failed or was
blocked (budget, suspension, back-off) or anything was dead-lettered; 2 for bad usage or config.
`,
  options: {
    source: { type: "string" },
    reconcile: { type: "boolean" },
    "dry-run": { type: "boolean" },
  },
  async run(values, io) {
    const config = configFor(values.config as string | undefined, io);
    const only = values.source as string | undefined;
    if (only && !config.sources.some((s) => s.name === only)) {
      throw new UsageError(`--source ${only}: no such source (configured: ${config.sources.map((s) => s.name).join(", ") || "none"})`);
    }
    const dryRun = values["dry-run"] === true;
    const mode = values.reconcile ? "reconcile" : "incremental";
    const logger = createLogger();
    const app = await openApp(config, { logger, readOnly: dryRun, only: only ? [only] : undefined });
    try {
      const outcomes: PassOutcome[] = [];
      let routingDead = 0;
      const verdicts = new Map<string, Routing>();
      const deps = app.passDeps({
        onEvents: dryRun
          ? (events) =>
              events.forEach((event) => {
                io.out(`${JSON.stringify(event)}\n`);
                if (config.targets.length > 0) io.err(`${dryRunVerdicts(event, verdicts.get(event.id), config.targets)}\n`);
                verdicts.delete(event.id);
              })
          : undefined,
        onNotice: dryRun ? (message) => io.err(`${message}\n`) : undefined,
        onRouting: (routed) => (routingDead += routed.filter((o) => o.outcome === "dead").length),
        ...(dryRun
          ? {
              route: async (envelope: EventEnvelope) => {
                const routing = await routeWithExpressions(envelope, config.targets);
                verdicts.set(envelope.id, routing);
                return routing;
              },
            }
          : {}),
      });
      for (const { config: sourceConfig, source } of app.sources) {
        outcomes.push(...(await runSourcePass(deps, source, sourceConfig, mode)));
      }
      let dead = routingDead;
      if (routingDead > 0) io.err(`routing: ${routingDead} deliveries dead-lettered because a target's filter or transform failed
`);
      for (const [target, count] of Object.entries(app.removedTargets)) {
        io.err(`${removedTargetNotice(target, count, config)}
`);
        dead += count;
      }
      if (app.dispatcher) {
        const result = await app.dispatcher.runOnce();
        dead += result.dead + result.stateErrors;
        // "to retry" counts every delivery still pending (one line each below), not only those that failed just now.
        const failedNow = result.retried > 0 ? ` (${result.retried} failed in this run)` : "";
        io.err(`deliveries: ${result.delivered} delivered, ${result.pending.length} to retry${failedNow}, ${result.dead} dead-lettered\n`);
        for (const pending of result.pending) {
          io.err(`pending: ${pending.target} ${pending.eventId} next attempt ${new Date(pending.nextAttemptAt).toISOString()}\n`);
        }
      }
      // Installations driven by cron and `once` prune too (state.retention), after the deliveries.
      if (!dryRun) await new Retention(app.store, config.state.retention, app.clock, logger.child({ component: "retention" })).sweep();
      return report(outcomes, io) && dead === 0 ? EXIT_OK : EXIT_FAILURE;
    } finally {
      await app.close();
    }
  },
};

/**
 * `--dry-run`, on stderr after each envelope: per configured target, whether the event would
 * be sent (`passes`), filtered out, fail its filter or transform (with the reason), or is not
 * for the target (`events` / `sources`).
 */
export function dryRunVerdicts(event: EventEnvelope, routing: Routing | undefined, targets: readonly TargetConfig[]): string {
  const parts = targets.map((target) => {
    if (!routing) return `${target.name} ?`;
    if (routing.targets.includes(target.name)) return `${target.name} passes`;
    if (routing.filtered.includes(target.name)) return `${target.name} filtered`;
    const failed = routing.failed[target.name];
    if (failed !== undefined) return `${target.name} fails (${failed})`;
    return `${target.name} not subscribed`;
  });
  return `  ${event.id} ${event.type}: ${parts.join(", ")}`;
}

/** One line per resource on stderr; true when every pass succeeded. */
function report(outcomes: PassOutcome[], io: Io): boolean {
  for (const o of outcomes) {
    const what = o.ok
      ? `ok: ${o.records} records, ${o.events} events${o.baselined ? `, ${o.baselined} baselined` : ""}${o.deleted ? `, ${o.deleted} deleted` : ""}${o.held ? `, ${o.held} deletions held` : ""}`
      : `${o.blocked ? "blocked" : "failed"}: ${o.error}`;
    io.err(`${o.source}/${o.resource} ${o.mode}: ${what}\n`);
    for (const warning of o.warnings) io.err(`  warning: ${warning}\n`);
  }
  return outcomes.every((o) => o.ok);
}
