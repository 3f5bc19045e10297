import cron from "node-cron";
import { isRestSource } from "../../config/types.js";
import { permittedIntervalMs } from "../../core/budget-plan.js";
import type { BudgetConfig, SourceConfig } from "../../config/types.js";
import { idlePassCost } from "../../sources/registry.js";
import { EXIT_FAILURE, EXIT_OK, errorMessage } from "../../errors.js";
import { redactStateUrl, stateBackend } from "../../store/url.js";
import { removedTargetNotice } from "../../app.js";
import type { Config } from "../../config/types.js";
import { existsSync } from "node:fs";
import { openStateStore } from "../../store/open.js";
import { sqlitePathFromUrl } from "../../store/sqlite/open.js";
import { secretValues } from "../../config/secrets.js";
import { redactedUrl, scrubSecrets } from "../../telemetry/logger.js";
import { configFor } from "../io.js";
import type { Command } from "./command.js";

export const validateCommand: Command = {
  name: "validate",
  summary: "check the config; print sources, resources, targets and next run times",
  help: `Usage: retrohook validate [-c FILE]

Loads and checks the config (exit 2 with every problem named by its path), then prints the
sources with their resources, schedules and next run times, and the targets with their filters.
With PostgreSQL state it checks that the database answers (exit 1 if not) and lists the schema
migrations the next start would apply, without applying them.
`,
  options: {},
  async run(values, io) {
    const config = configFor(values.config as string | undefined, io);
    const state = await stateLines(config.state.url);
    const lines: string[] = [`config ${config.path}: ok`, ...state.lines, ""];
    lines.push(`sources (${config.sources.length}):`);
    for (const source of config.sources) {
      const kind = isRestSource(source) ? "rest" : `preset ${source.preset}`;
      lines.push(`  ${source.name} (${kind}, timezone ${source.timezone})`);
      lines.push(`    resources: ${source.resources.map((r) => r.name).join(", ")}`);
      let scheduleMs = 60_000;
      for (const [label, expression] of [["schedule", source.schedule], ["reconcile", source.reconcile]] as const) {
        const task = cron.createTask(expression, () => undefined, { timezone: source.timezone });
        const runs = task.getNextRuns(2);
        void task.destroy();
        if (label === "schedule" && runs.length === 2) scheduleMs = runs[1]!.getTime() - runs[0]!.getTime();
        lines.push(`    ${label.padEnd(9)} "${expression}" next: ${runs.map((d) => d.toISOString()).join(", ")}`);
      }
      if (source.budget) lines.push(`    ${budgetLine(source.budget, sourcePassCost(source, scheduleMs), scheduleMs)}`);
    }
    lines.push("", `targets (${config.targets.length}):`);
    for (const target of config.targets) {
      lines.push(`  ${target.name} → ${redactedUrl(target.url)} (format ${target.format}${target.secret ? ", signed" : ", unsigned"}; events ${target.events?.join(", ") ?? "all"}; sources ${target.sources?.join(", ") ?? "all"}${target.filter ? `; filter ${target.filter.label}` : ""}${target.transform ? `; transform ${target.transform.label}` : ""})`);
    }
    io.out(`${scrubSecrets(lines.join("\n"), secretValues(config))}\n`);
    if (!state.ok) {
      io.err(`${scrubSecrets(state.error!, secretValues(config))}\n`);
      return EXIT_FAILURE;
    }
    for (const warning of await removedTargetWarnings(config)) io.err(`warning: ${warning}\n`);
    return EXIT_OK;
  },
};

/** `state:` lines: the URL without its password; for PostgreSQL, whether it answers and what a start would migrate. */
async function stateLines(url: string): Promise<{ ok: boolean; lines: string[]; error?: string }> {
  const shown = redactStateUrl(url);
  if (stateBackend(url) !== "postgres") return { ok: true, lines: [`state: ${shown}`] };
  try {
    const { checkPostgres } = await import("../../store/postgres/open.js");
    const status = await checkPostgres(url);
    const pending = status.pending.length === 0 ? "none" : `${status.pending.map((m) => `${m.version} ${m.name}`).join(", ")} (applied at the next start)`;
    return { ok: true, lines: [`state: ${shown} (PostgreSQL): answers; schema version ${status.current}; pending migrations: ${pending}`] };
  } catch (error) {
    return { ok: false, lines: [`state: ${shown} (PostgreSQL): does not answer`], error: `state: ${errorMessage(error)}` };
  }
}

/**
 * Pending deliveries in the state for targets this config no longer has (renamed or removed):
 * the next `run` or `once` moves them to dead letters. Read without changing the state; a
 * state that cannot be read is said, not an error of the config.
 */
async function removedTargetWarnings(config: Config): Promise<string[]> {
  const file = stateBackend(config.state.url) === "sqlite" ? sqlitePathFromUrl(config.state.url) : undefined;
  if (file === ":memory:" || (file !== undefined && !existsSync(file))) return [];
  try {
    const store = await openStateStore(config.state.url, { readOnly: true });
    try {
      const configured = new Set(config.targets.map((t) => t.name));
      return Object.entries(await store.pendingTargets())
        .filter(([target]) => !configured.has(target))
        .map(([target, count]) => removedTargetNotice(target, count, config, true));
    } finally {
      await store.close();
    }
  } catch (error) {
    return [`could not read the state to check for pending deliveries of removed targets: ${errorMessage(error)}`];
  }
}

/** The cost of an idle pass, settled with the interval it implies (Fakturoid needs a token every 2 h). */
export function sourcePassCost(source: SourceConfig, scheduleMs: number): number {
  const first = idlePassCost(source, scheduleMs);
  const interval = source.budget ? permittedIntervalMs(source.budget.requests, source.budget.per, first, scheduleMs) : scheduleMs;
  return idlePassCost(source, interval);
}

/** What a budget really permits: the average interval between incremental passes. */
export function budgetLine(budget: BudgetConfig, cost: number, scheduleMs: number): string {
  const interval = permittedIntervalMs(budget.requests, budget.per, cost, scheduleMs);
  return `budget: ${budget.requests} requests per ${budget.per}; an idle incremental pass costs about ${cost} request(s), so the budget permits one pass every ${formatInterval(interval)} on average (a third is kept for reconciles)`;
}

function formatInterval(ms: number): string {
  if (!Number.isFinite(ms)) return "never (too small for one pass)";
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
