import cron from "node-cron";
import { isRestSource } from "../../config/types.js";
import { EXIT_OK } from "../../errors.js";
import { configFor } from "../io.js";
import type { Command } from "./index.js";

export const validateCommand: Command = {
  name: "validate",
  summary: "check the config; print sources, resources, targets and next run times",
  help: `Usage: retrohook validate [-c FILE]

Loads and checks the config (exit 2 with every problem named by its path), then prints the
sources with their resources, schedules and next run times, and the targets with their filters.
`,
  options: {},
  async run(values, io) {
    const config = configFor(values.config as string | undefined, io);
    const lines: string[] = [`config ${config.path}: ok`, `state: ${config.state.url}`, ""];
    lines.push(`sources (${config.sources.length}):`);
    for (const source of config.sources) {
      const kind = isRestSource(source) ? "rest" : `preset ${source.preset}`;
      lines.push(`  ${source.name} (${kind}, timezone ${source.timezone})`);
      lines.push(`    resources: ${source.resources.map((r) => r.name).join(", ")}`);
      for (const [label, expression] of [["schedule", source.schedule], ["reconcile", source.reconcile]] as const) {
        const task = cron.createTask(expression, () => undefined, { timezone: source.timezone });
        const next = task.getNextRuns(2).map((d) => d.toISOString());
        void task.destroy();
        lines.push(`    ${label.padEnd(9)} "${expression}" next: ${next.join(", ")}`);
      }
      if (source.budget) lines.push(`    budget: ${source.budget.requests} requests per ${source.budget.per}`);
    }
    lines.push("", `targets (${config.targets.length}):`);
    for (const target of config.targets) {
      lines.push(`  ${target.name} → ${target.url} (format ${target.format}${target.secret ? ", signed" : ", unsigned"}; events ${target.events?.join(", ") ?? "all"}; sources ${target.sources?.join(", ") ?? "all"})`);
    }
    io.out(`${lines.join("\n")}\n`);
    return EXIT_OK;
  },
};
