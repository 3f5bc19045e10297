import { ManualClock } from "../../src/clock.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/types.js";
import { renderExplain } from "../../src/cli/commands/explain.js";
import { routeEvent } from "../../src/core/routing.js";
import { Dispatcher } from "../../src/delivery/dispatcher.js";
import { BudgetGate } from "../../src/pipeline/budget.js";
import { runSourcePass, type PassMode, type PassOutcome } from "../../src/pipeline/poll-pass.js";
import { explainRecordAt, parseRecordAddress, type ExplainResult } from "../../src/server/explain.js";
import { createSource } from "../../src/sources/registry.js";
import { openStateStore } from "../../src/store/open.js";
import type { StateStore } from "../../src/store/store.js";
import { silentLogger } from "../../src/telemetry/logger.js";

/**
 * A scripted run for `explain`: a config written as YAML (as users write it), an in-memory
 * SQLite state, a fake clock, real passes against a fake vendor and real deliveries.
 */
export interface Scenario {
  config: Config;
  store: StateStore;
  clock: ManualClock;
  budgets: Map<string, BudgetGate>;
  pass(mode?: PassMode, source?: string): Promise<PassOutcome[]>;
  deliver(): Promise<void>;
  /** The view (what `--json` prints) and the text (what people read). */
  explain(address: string): Promise<{ view: ExplainResult; text: string; reasons: string[] }>;
  close(): Promise<void>;
}

export async function startScenario(yaml: string): Promise<Scenario> {
  const config = parseConfig(yaml, { path: "/srv/retrohook/config.yaml", env: {} });
  const clock = new ManualClock(Date.parse("2026-11-23T10:00:30Z"), { autoAdvance: true });
  const store = await openStateStore("sqlite::memory:", { clock });
  const budgets = new Map(config.sources.map((s) => [s.name, new BudgetGate(s, store, clock)]));
  const logger = silentLogger();
  const dispatcher = new Dispatcher({ store, targets: config.targets, clock, logger, random: () => 0.5 });
  return {
    config,
    store,
    clock,
    budgets,
    async pass(mode = "incremental", only) {
      const outcomes: PassOutcome[] = [];
      for (const sourceConfig of config.sources.filter((s) => !only || s.name === only)) {
        const source = createSource(sourceConfig, { clock, logger });
        try {
          outcomes.push(...(await runSourcePass({ store, clock, logger, budgets, route: (envelope) => routeEvent(envelope, config.targets) }, source, sourceConfig, mode)));
        } finally {
          source.close();
        }
      }
      clock.advance(60_000);
      return outcomes;
    },
    async deliver() {
      await dispatcher.runOnce();
    },
    async explain(address) {
      const view = await explainRecordAt({ config, store, now: clock.now(), budgets }, parseRecordAddress(address));
      return { view, text: renderExplain(view), reasons: view.whyNot.map((w) => w.reason) };
    },
    async close() {
      await dispatcher.stop(0);
      await store.close();
    },
  };
}
