import { describe, expect, it } from "vitest";
import { matchesEventPattern, routeEvent } from "../../src/core/routing.js";

describe("event patterns", () => {
  it.each([
    ["cost_invoice.*", "cost_invoice.paid", true],
    ["cost_invoice.*", "cost_invoice.created", true],
    ["cost_invoice.*", "invoice.paid", false],
    ["cost_invoice.*", "cost_invoice", false],
    ["*.paid", "cost_invoice.paid", true],
    ["*.paid", "invoice.paid", true],
    ["*.paid", "invoice.paid_partially", false],
    ["*.paid", "legacy.cost.paid", true],
    ["*", "anything.at.all", true],
    ["invoice.paid", "invoice.paid", true],
    ["invoice.paid", "cost_invoice.paid", false],
    ["invoice.paid", "invoiceXpaid", false],
    ["*invoice.*", "cost_invoice.updated", true],
    ["Invoice.*", "invoice.created", false],
    ["warehouse_document.[wz]", "warehouse_document.w", false],
    ["warehouse_document.[wz]", "warehouse_document.[wz]", true],
  ])("%s on %s → %s", (pattern, type, expected) => {
    expect(matchesEventPattern(pattern, type)).toBe(expected);
  });
});

describe("routeEvent", () => {
  const targets = [
    { name: "all" },
    { name: "costs", events: ["cost_invoice.*"] },
    { name: "paid-from-fakturownia", events: ["*.paid"], sources: ["fakturownia"] },
    { name: "legacy-only", sources: ["legacy"] },
    { name: "nothing", events: [] },
  ];

  it("applies events and sources filters, in config order", () => {
    expect(routeEvent({ type: "cost_invoice.paid", source: "fakturownia" }, targets)).toEqual(["all", "costs", "paid-from-fakturownia"]);
    expect(routeEvent({ type: "invoice.paid", source: "legacy" }, targets)).toEqual(["all", "legacy-only"]);
    expect(routeEvent({ type: "client.created", source: "fakturownia" }, targets)).toEqual(["all"]);
  });
});
