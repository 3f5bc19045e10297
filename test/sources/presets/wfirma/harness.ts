import { ManualClock } from "../../../../src/clock.js";
import type { SourceConfig } from "../../../../src/config/types.js";
import type { WfirmaSourceConfig } from "../../../../src/sources/presets/wfirma/config.js";
import type { EventEnvelope } from "../../../../src/core/types.js";
import type { BudgetGate } from "../../../../src/pipeline/budget.js";
import { runSourcePass, type PassMode, type PassOutcome } from "../../../../src/pipeline/poll-pass.js";
import { createSource } from "../../../../src/sources/registry.js";
import type { Source } from "../../../../src/sources/source.js";
import type { StateStore } from "../../../../src/store/store.js";
import { silentLogger, type Logger } from "../../../../src/telemetry/logger.js";
import { MemoryStateStore } from "../../../helpers/memory-store.js";
import { loadedSource } from "../../../helpers/source-config.js";
import type { FakeRequest, FakeServer } from "../../../../src/simulators/kit.js";
import type { WfirmaFake, WfirmaRecord } from "../../../fakes/wfirma/fake.js";

export { loadedPresetResource as presetResource } from "../../../helpers/source-config.js";

/**
 * One change of every kind on records made before: a new expense, `unpaid` paid in full, new WZ
 * and PZ documents, `contractor` edited with `patch`, a payment on `invoice`. Returns the event
 * summaries (`type:record_id[/kind]`, sorted) that must follow, and nothing else.
 */
export function changeOfEveryKind(fake: WfirmaFake, on: { contractor: WfirmaRecord; invoice: WfirmaRecord; unpaid: WfirmaRecord }, patch: Record<string, unknown>): string[] {
  const expense = fake.create("expenses");
  fake.addPayment("expense", String(on.unpaid.id), String(on.unpaid.brutto));
  const expensePayment = fake.all("payments").at(-1)!;
  const wz = fake.create("warehouse_document_w_z");
  const pz = fake.create("warehouse_document_p_z");
  fake.update("contractors", String(on.contractor.id), patch);
  const payment = fake.addPayment("invoice", String(on.invoice.id), "10.00");
  return [
    `cost_invoice.created:${expense.id}`,
    `cost_invoice.updated:${on.unpaid.id}`,
    `cost_invoice.paid:${on.unpaid.id}`,
    `warehouse_document.created:${wz.id}/warehouse_document_w_z`,
    `warehouse_document.created:${pz.id}/warehouse_document_p_z`,
    `client.updated:${on.contractor.id}`,
    `payment.created:${expensePayment.id}`,
    `payment.created:${payment.id}`,
    `invoice.updated:${on.invoice.id}`,
  ].sort();
}

export function wfirmaConfig(baseUrl: string, resources: string[], overrides: Partial<WfirmaSourceConfig> = {}): WfirmaSourceConfig {
  return loadedSource<WfirmaSourceConfig>({ name: "wfirma", preset: "wfirma", base_url: baseUrl, access_key: "ak", secret_key: "sk", app_key: "app", timezone: "Europe/Warsaw", timeout: "5s", resources }, overrides);
}

export interface Runner {
  clock: ManualClock;
  store: StateStore;
  events: EventEnvelope[];
  /** Requests the source's HTTP client counted (the budget hook). */
  counted: number;
  source(): Source;
  pass(mode?: PassMode, extra?: { budgets?: Map<string, BudgetGate>; paced?: boolean }): Promise<{ outcomes: PassOutcome[]; events: EventEnvelope[]; notices: string[] }>;
  close(): void;
}

/**
 * Passes of one source against an in-memory store, through the real pipeline. One Source for
 * all passes (like the daemon), unless `fresh` makes a new one per pass (like `once`).
 */
export function runner(config: SourceConfig, options: { clock?: ManualClock; store?: StateStore; fresh?: boolean; logger?: Logger; onRequest?: () => void | Promise<void> } = {}): Runner {
  const clock = options.clock ?? new ManualClock(Date.parse("2026-11-23T10:00:00Z"), { autoAdvance: true });
  const store = options.store ?? new MemoryStateStore(clock);
  const logger = options.logger ?? silentLogger();
  let current: Source | undefined;
  const make = (): Source =>
    createSource(config, { clock, logger }, {
      beforeRequest: async () => {
        state.counted += 1;
        await options.onRequest?.();
      },
    });
  const state: Runner = {
    clock,
    store,
    events: [],
    counted: 0,
    source() {
      current ??= make();
      return current;
    },
    async pass(mode = "incremental", extra = {}) {
      if (options.fresh) {
        current?.close();
        current = undefined;
      }
      const fresh: EventEnvelope[] = [];
      const notices: string[] = [];
      const outcomes = await runSourcePass(
        { store, clock, logger, route: () => ["t"], onEvents: (e) => fresh.push(...e), onNotice: (n) => notices.push(n), ...extra },
        state.source(),
        config,
        mode,
      );
      state.events.push(...fresh);
      return { outcomes, events: fresh, notices };
    },
    close() {
      current?.close();
    },
  };
  return state;
}

/** `type:record_id` (plus `/kind` when set), sorted: order across resources is not the point. */
export function summary(events: EventEnvelope[]): string[] {
  return events.map((e) => `${e.type}:${e.record_id}${e.kind ? `/${e.kind}` : ""}`).sort();
}

/**
 * Runs `action` just before the fake serves the `nth` request matching `test` (a change made
 * "while a pass runs"). Uses the kit's fault hook as an observer: the rule never applies.
 */
export function beforeServing(fake: FakeServer, test: (request: FakeRequest) => boolean, action: () => void, nth = 1): void {
  let seen = 0;
  fake.injectFault({
    fault: { type: "delay", ms: 0 },
    times: Infinity,
    match: (request) => {
      if (test(request) && ++seen === nth) action();
      return false;
    },
  });
}
