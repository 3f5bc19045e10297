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
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

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

export interface ExplainRunOptions {
  /** YAML lines added to the resource (indented under it). */
  resource?: string;
  /** YAML lines added to the source. */
  source?: string;
  /** The `targets:` list (`{receiver}` stands for the receiver's URL); default `erp` (every item event) and `crm` (created and deleted only). */
  targets?: string;
  /** Top-level YAML (e.g. `state:`). */
  top?: string;
}

/** The config of the scripted runs: one `rest` source over the fake vendor, two targets. */
export function explainYaml(options: ExplainRunOptions & { apiUrl: string; token: string; receiverUrl?: string }): string {
  return `
${options.top ?? ""}
sources:
  - name: legacy
    type: rest
    base_url: ${options.apiUrl}
    headers: { Authorization: "Bearer ${options.token}" }
    overlap: 0s
    ${options.source ?? ""}
    resources:
      - name: items
        type_prefix: item
        path: /items
        cursor: { field: modified_at, param: modified_since }
        pagination: { style: page, page_param: page, size_param: per_page, size: 100 }
        paid: { field: status, to: paid }
        ignore_fields: [modified_at, touched_at]
        ${options.resource ?? ""}
targets:
${(options.targets ?? `  - { name: erp, url: "{receiver}", events: ["item.*"] }
  - { name: crm, url: "{receiver}", events: ["item.created", "item.deleted"] }`).replaceAll("{receiver}", options.receiverUrl ?? "")}
`;
}

/** A fake vendor with `seed` items (status issued), a receiver, and the scenario over them. */
export async function startExplainRun(options: ExplainRunOptions = {}, seed = 3): Promise<{ api: FakeRest; receiver: Receiver; s: Scenario; close(): Promise<void> }> {
  const api = await startFakeRest({ now: Date.parse("2026-11-23T09:00:00Z") });
  const receiver = await startReceiver();
  for (let i = 0; i < seed; i++) api.create({ status: "issued" });
  const s = await startScenario(explainYaml({ apiUrl: api.url, token: api.token, receiverUrl: receiver.url, ...options }));
  return {
    api,
    receiver,
    s,
    async close() {
      await s.close();
      await api.close();
      await receiver.close();
    },
  };
}

type ExplainRun = Awaited<ReturnType<typeof startExplainRun>>;

/** Item 3 is listed once more without a change, then later incremental passes no longer list it (unchanged, not seen since). */
export async function seenThenNotListed({ api, s }: Pick<ExplainRun, "api" | "s">): Promise<string> {
  await s.pass();
  api.update(3, { name: "x" });
  await s.pass(); // updated
  await s.pass(); // lists 3 again (cursor ≥ its stamp): unchanged
  api.update(2, { name: "y" }); // moves the cursor past 3
  await s.pass(); // lists 2 and, for the last time, 3
  await s.pass(); // lists 2 only
  await s.pass();
  return "legacy/items/3";
}

/** Item 1 paid (updated + paid), delivered, then renamed: paid does not fire again; crm takes neither update. */
export async function paidThenRenamed({ api, s }: Pick<ExplainRun, "api" | "s">): Promise<string> {
  await s.pass();
  api.update(1, { status: "paid" });
  await s.pass();
  await s.deliver();
  api.update(1, { name: "renamed" });
  await s.pass();
  await s.deliver();
  return "legacy/items/1";
}
