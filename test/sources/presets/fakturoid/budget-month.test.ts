import { describe, expect, it } from "vitest";
import { budgetLine, sourcePassCost } from "../../../../src/cli/commands/validate.js";
import { ManualClock } from "../../../../src/clock.js";
import { periodOf } from "../../../../src/core/budget-plan.js";
import type { EventEnvelope } from "../../../../src/core/types.js";
import { BudgetGate } from "../../../../src/pipeline/budget.js";
import { runSourcePass } from "../../../../src/pipeline/poll-pass.js";
import { createSource } from "../../../../src/sources/registry.js";
import { startFakturoidFake } from "../../../fakes/fakturoid/fake.js";
import { silentLogger } from "../../../../src/telemetry/logger.js";
import { MemoryStateStore } from "../../../helpers/memory-store.js";
import { fakturoidConfig } from "./harness.js";
import { seededRandom } from "../../../helpers/random.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TICK = 5 * MINUTE;

function parseInterval(line: string): number {
  const match = /one pass every ([\d.]+) (s|min|h)/.exec(line);
  if (!match) throw new Error(`no interval in: ${line}`);
  return Number(match[1]) * (match[2] === "h" ? HOUR : match[2] === "min" ? MINUTE : 1000);
}

interface Change {
  at: number;
  expect: string;
  apply: () => void;
}

describe("a Fakturoid month on a budget of 1,500 requests", () => {
  it("spends at most 1,500 requests, delivers every observable change, and the median delay is within the interval validate prints", async () => {
    const config = fakturoidConfig("http://127.0.0.1:1", ["invoices", "cost_invoices", "clients", "products", "warehouse_documents"], {
      budget: { requests: 1500, per: "month" },
      schedule: "*/5 * * * *",
      timezone: "Europe/Prague",
    });
    const period = periodOf(Date.parse("2026-11-15T12:00:00Z"), "month", config.timezone);
    const clock = new ManualClock(period.start, { autoAdvance: true });
    const fake = await startFakturoidFake({ now: () => clock.now(), monthlyQuota: 1500 });
    const source = { ...config, base_url: fake.url };
    const store = new MemoryStateStore(clock);
    const gate = new BudgetGate(source, store, clock);
    let counted = 0;
    const live = createSource(source, { clock, logger: silentLogger() }, {
      beforeRequest: async () => {
        await gate.spend();
        counted += 1;
      },
    });
    const events: EventEnvelope[] = [];
    const deps = { store, clock, logger: silentLogger(), route: () => ["erp"], onEvents: (e: EventEnvelope[]) => events.push(...e), budgets: new Map([[source.name, gate]]), paced: true };

    // The account at the start of the month: some of everything.
    const subjects = Array.from({ length: 30 }, () => fake.create("subjects"));
    const unpaid = Array.from({ length: 30 }, () => fake.create("invoices"));
    const item = fake.create("inventory_items");
    fake.create("expenses");

    // Changes spread over the month (not in its last two days), each on its own record.
    const random = seededRandom(42);
    const changes: Change[] = [];
    const span = period.end - period.start - 2 * 24 * HOUR;
    const at = () => period.start + HOUR + Math.floor(random() * span);
    for (let i = 0; i < 30; i += 1) {
      const subject = subjects[i]!;
      changes.push({ at: at(), expect: `client.updated:${subject.id}`, apply: () => void fake.update("subjects", Number(subject.id), { email: `changed${i}@example.cz` }) });
      const invoice = unpaid[i]!;
      changes.push({ at: at(), expect: `invoice.paid:${invoice.id}`, apply: () => void fake.addPayment("invoices", Number(invoice.id)) });
    }
    const created: Array<[string, "expenses" | "subjects" | "invoices" | "inventory_moves"]> = [
      ["cost_invoice", "expenses"],
      ["client", "subjects"],
      ["invoice", "invoices"],
      ["warehouse_document", "inventory_moves"],
    ];
    for (let i = 0; i < 40; i += 1) {
      const [prefix, resource] = created[i % created.length]!;
      const change: Change = { at: at(), expect: "", apply: () => undefined };
      change.apply = () => {
        const record = fake.create(resource, resource === "inventory_moves" ? { inventory_item_id: item.id } : {});
        change.expect = `${prefix}.created:${record.id}`;
      };
      changes.push(change);
    }
    changes.sort((a, b) => a.at - b.at);

    // The scheduler: a tick every five minutes, a reconcile every six hours, both paced by the budget.
    let next = 0;
    for (let now = period.start; now < period.end; now += TICK) {
      if (clock.now() < now) clock.advance(now - clock.now());
      while (next < changes.length && changes[next]!.at <= clock.now()) changes[next++]!.apply();
      await runSourcePass(deps, live, source, "incremental");
      if (new Date(now).getUTCMinutes() === 0 && new Date(now).getUTCHours() % 6 === 0) await runSourcePass(deps, live, source, "reconcile");
    }
    const spentAtTheFake = fake.monthlyCount();
    live.close();
    await fake.close();

    expect(spentAtTheFake).toBeLessThanOrEqual(1500);
    expect(counted).toBe(spentAtTheFake);
    const detected = new Map<string, number>();
    for (const event of events) if (!detected.has(`${event.type}:${event.record_id}`)) detected.set(`${event.type}:${event.record_id}`, Date.parse(event.detected_at));
    const delays = changes.map((change) => {
      const when = detected.get(change.expect);
      expect(when, `${change.expect} was never delivered`).toBeDefined();
      expect(when!).toBeGreaterThanOrEqual(change.at);
      return when! - change.at;
    });
    delays.sort((a, b) => a - b);
    const median = delays[Math.floor(delays.length / 2)]!;
    const printed = parseInterval(budgetLine(source.budget!, sourcePassCost(source, TICK), TICK));
    if (process.env.RETROHOOK_TEST_STATS) console.log({ spentAtTheFake, changes: changes.length, medianMin: median / MINUTE, printedMin: printed / MINUTE, maxMin: delays.at(-1)! / MINUTE });
    expect(median).toBeLessThanOrEqual(printed);
    // Most of the budget is used (the schedule is not starved), and reconciles ran.
    expect(spentAtTheFake).toBeGreaterThan(1200);
    expect((await store.getResourceState({ source: source.name, resource: "clients" }))!.lastReconcileAt).toBeDefined();
  }, 120_000);
});
