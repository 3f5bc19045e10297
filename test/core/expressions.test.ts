import { describe, expect, it } from "vitest";
import type { TargetExpression } from "../../src/config/types.js";
import {
  compileExpression,
  DEFAULT_EXPRESSION_LIMITS,
  evaluateFilter,
  evaluateTransform,
  ExpressionRuntimeError,
  ExpressionSyntaxError,
} from "../../src/core/expressions.js";
import { applyTargetExpressions, routeWithExpressions } from "../../src/core/routing.js";
import type { EventEnvelope } from "../../src/core/types.js";
import { thrown } from "../helpers/thrown.js";

const envelope: EventEnvelope = {
  id: "evt_1",
  type: "cost_invoice.created",
  source: "fakturownia",
  resource: "cost_invoices",
  kind: null,
  record_id: "123",
  detected_at: "2026-11-23T10:00:00.000Z",
  data: { object: { id: 123, number: "FV 1/11", price_gross: "12500.00", currency: "PLN", positions: [{ name: "A" }, { name: "B" }] } },
};

const expr = (text: string, label = "targets[0].filter", limits = { timeoutMs: DEFAULT_EXPRESSION_LIMITS.timeoutMs, maxBytes: DEFAULT_EXPRESSION_LIMITS.maxBytes }): TargetExpression => ({ text, label, limits });

describe("compileExpression", () => {
  it("reports a syntax error with the line and column inside the expression", () => {
    const text = '{\n  "text": "Paid " & data.object.number,\n  "amount": $number(data.object.price_gross)) \n}';
    const error = thrown(() => compileExpression(text), ExpressionSyntaxError);
    expect(error.line).toBe(3);
    expect(error.column).toBe(45);
    expect(error.message).toMatch(/S0\d{3}/);
  });

  it("points at the end of an unfinished expression", () => {
    const error = thrown(() => compileExpression("data.object.price_gross > 10 and"), ExpressionSyntaxError);
    expect([error.line, error.column]).toEqual([1, 33]);
  });
});

describe("evaluateFilter", () => {
  it("true passes, false and no match filter out", async () => {
    expect(await evaluateFilter('$number(data.object.price_gross) > 10000 and data.object.currency = "PLN"', envelope)).toBe(true);
    expect(await evaluateFilter("$number(data.object.price_gross) > 20000", envelope)).toBe(false);
    expect(await evaluateFilter("data.object.missing", envelope)).toBe(false);
  });

  it("a value that is not true or false is an error", async () => {
    await expect(evaluateFilter("data.object.number", envelope)).rejects.toThrow(/must return true or false, returned the string "FV 1\/11"/);
  });

  it("an expression that throws is an error with its message", async () => {
    await expect(evaluateFilter('$error("no currency")', envelope)).rejects.toThrow(ExpressionRuntimeError);
    await expect(evaluateFilter('$error("no currency")', envelope)).rejects.toThrow(/no currency/);
  });
});

describe("evaluateTransform", () => {
  it("builds object, array and string bodies as JSON text", async () => {
    expect(await evaluateTransform('{"text": "Invoice " & data.object.number, "id": $.id}', envelope)).toBe('{"text":"Invoice FV 1/11","id":"evt_1"}');
    expect(await evaluateTransform("[data.object.positions.name]", envelope)).toBe('["A","B"]');
    expect(await evaluateTransform('"invoice " & data.object.number', envelope)).toBe('"invoice FV 1/11"');
    expect(await evaluateTransform("$number(data.object.price_gross)", envelope)).toBe("12500");
  });

  it("no result is an error", async () => {
    await expect(evaluateTransform("data.object.nothing", envelope)).rejects.toThrow(/returned nothing/);
  });

  it("stops an expression that runs too long", async () => {
    const limits = { timeoutMs: 50, maxBytes: 1_000_000 };
    const started = Date.now();
    await expect(evaluateTransform("($loop := function($n) { $loop($n + 1) }; $loop(0))", envelope, limits)).rejects.toThrow(/ran longer than the 50 ms limit/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops runaway recursion", async () => {
    // A generous time limit: on a loaded machine the depth guard must still be what stops it.
    await expect(evaluateTransform("($deep := function($n) { 1 + $deep($n + 1) }; $deep(0))", envelope, { timeoutMs: 30_000, maxBytes: 1_000 })).rejects.toThrow(/recursed deeper than/);
  });

  it("refuses a result larger than the limit", async () => {
    const limits = { timeoutMs: 1_000, maxBytes: 1_000 };
    await expect(evaluateTransform('$pad("", 2000, "x")', envelope, limits)).rejects.toThrow(/returned 2002 bytes of JSON, more than the 1000-byte limit/);
    expect(await evaluateTransform('$pad("", 990, "x")', envelope, limits)).toHaveLength(992);
    // Multi-byte characters count as their UTF-8 bytes.
    await expect(evaluateTransform('$pad("", 600, "ł")', envelope, limits)).rejects.toThrow(/returned 1202 bytes of JSON/);
  });
});

describe("applyTargetExpressions", () => {
  it("names the expression and the record when it fails", async () => {
    const verdict = await applyTargetExpressions({ transform: expr('$error("bad shape")', "expressions.erp_shape") }, envelope);
    expect(verdict.outcome).toBe("failed");
    expect(verdict.outcome === "failed" && verdict.reason).toMatch(/^transform expressions\.erp_shape failed on fakturownia\/cost_invoices\/123 \(event evt_1\): bad shape/);
  });

  it("filters before transforming", async () => {
    expect(await applyTargetExpressions({ filter: expr("false"), transform: expr('$error("never")') }, envelope)).toEqual({ outcome: "filtered" });
    expect(await applyTargetExpressions({ filter: expr("true"), transform: expr("data.object.id") }, envelope)).toEqual({ outcome: "deliver", body: "123" });
    expect(await applyTargetExpressions({ filter: expr("true") }, envelope)).toEqual({ outcome: "deliver" });
  });

  it("routes per target: delivered, filtered and failed side by side", async () => {
    const routing = await routeWithExpressions(envelope, [
      { name: "plain" },
      { name: "costs", events: ["cost_invoice.*"], filter: expr("$number(data.object.price_gross) > 10000") },
      { name: "small", filter: expr("$number(data.object.price_gross) < 100") },
      { name: "broken", transform: expr('$error("boom")', "targets[3].transform") },
      { name: "shaped", transform: expr('{"n": data.object.number}') },
      { name: "invoices", events: ["invoice.*"], filter: expr("true") },
    ]);
    expect(routing.targets).toEqual(["plain", "costs", "shaped"]);
    expect(routing.fixed).toEqual({ costs: "", shaped: '{"n":"FV 1/11"}' });
    expect(routing.filtered).toEqual(["small"]);
    expect(Object.keys(routing.failed)).toEqual(["broken"]);
    expect(routing.failed.broken).toMatch(/transform targets\[3\]\.transform failed on .*: boom/);
  });
});
