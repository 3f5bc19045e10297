import jsonata from "jsonata";
import { describe, expect, it } from "vitest";
import { BENCH_FILTER, BENCH_TRANSFORM } from "../../bench/scenarios/expressions.js";
import { compileSync, GIVE_UP } from "../../src/core/expressions-sync.js";
import { sampleEnvelope } from "../../src/core/sample-event.js";

/**
 * The synchronous evaluator against `jsonata` itself: over every expression and input below,
 * it either gives the same value as `jsonata` or gives up (and `jsonata` decides); it never
 * gives a value where `jsonata` throws.
 */

const line = (name: string, quantity: number, gross: string): Record<string, unknown> => ({ name, quantity, total_gross: gross, tags: ["a", name] });

const envelope = (object: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...sampleEnvelope("cost_invoice.paid", "fakturownia", Date.parse("2026-11-23T10:00:00.000Z"), "evt_1"),
  data: { object, ...extra },
});

const INPUTS: Array<Record<string, unknown>> = [
  envelope(
    { id: 123, number: "FV 1/11", price_gross: "12500.00", price_net: "10162.60", currency: "PLN", status: "paid", buyer: { name: "ACME", tax_no: "526" }, lines: [line("A", 2, "10.50"), line("B", 1, "0.10"), line("C", 3, "7")] },
    { previous: { status: "issued", price_gross: "1.00" } },
  ),
  envelope({ id: 7, number: "FV 2/11", price_gross: "99.9", currency: "EUR", status: "issued", buyer: null, lines: [line("only", 1, "1e3")] }, { previous: {} }),
  envelope({ id: 8, number: "", price_gross: "0x1F", currency: "PLN", lines: [], nested: [[1, 2], [3], []], flags: [true, false], amount: 0.1, big: 1e21, neg: -2.5 }),
  envelope({ id: 9, price_gross: 12.5, currency: null, lines: [{ name: "x", quantity: "2" }], nested: [[{ v: 1 }], [{ v: 2 }, { v: 3 }]], text: "  spaced \t out \n " }),
  envelope({ id: 10, price_gross: "abc", tags: ["one"], empty: {}, arr1: [5], deep: { a: { b: { c: [1, [2, [3]]] } } } }),
  { id: "evt_2", type: "invoice.created", source: "s", data: null },
  { id: "evt_3", type: "x", source: "s", data: { object: { _jsonata_function: true, name: "marked" } } },
];

const EXPRESSIONS: string[] = [
  BENCH_FILTER,
  BENCH_TRANSFORM,
  'data.object.currency = "PLN" and $number(data.object.price_gross) > 10000',
  "data.object.price_gross",
  "data.object.lines",
  "data.object.lines.name",
  "data.object.lines.tags",
  "data.object.lines.quantity",
  "data.object.lines.{ 'n': name, 'q': quantity, 'g': $number(total_gross) }",
  "data.object.nested",
  "data.object.nested.v",
  "data.object.deep.a.b.c",
  "data.object.arr1",
  "data.object.tags",
  "data.object.missing",
  "data.object.missing.deeper",
  "data.object.flags",
  "data.previous",
  "$keys(data.previous)",
  "$keys(data.object.lines)",
  "$keys(data.object)",
  "$keys(data.object.empty)",
  "$keys(type)",
  "{ 'doc_id': source & '-' & record_id, 'action': $substringAfter(type, '.'), 'kind': kind }",
  "{ 'a': data.object.lines.name, 'b': data.object.lines.{ 'n': name } }",
  "{ 'a': 1, 'a': 2 }",
  "{ type: 1 }",
  "{ data.object.number: 1 }",
  "{ data.object.id: 1 }",
  "{ '__proto__': 1 }",
  "{}",
  "[data.object.lines.name]",
  "[data.object.lines.name, 'z', [1, 2], data.object.missing]",
  "[[data.object.lines.quantity]]",
  "[]",
  "data.object.lines.quantity = 2",
  "data.object.lines.quantity = [2, 1, 3]",
  "data.object.buyer = { 'name': 'ACME', 'tax_no': '526' }",
  "data.object.buyer != { 'name': 'ACME' }",
  "data.object.lines = data.object.lines",
  "data.object.lines = data.object",
  "data.object.price_gross > 10",
  "data.object.price_gross > '10'",
  "data.object.id >= 9",
  "data.object.id < data.object.missing",
  "data.object.lines < 3",
  "data.object.price_gross & ' ' & data.object.currency",
  "data.object.amount & ''",
  "data.object.big & ''",
  "data.object.neg & data.object.flags & data.object.currency",
  "data.object.buyer & ''",
  "data.object.lines & ''",
  "'x' & data.object.missing & 'y'",
  "type in ['cost_invoice.paid', 'x']",
  "type in 'cost_invoice.paid'",
  "data.object.missing in ['a']",
  "data.object.lines.name in 'A'",
  "'A' in data.object.lines.name",
  "data.object.id + 1",
  "data.object.id * data.object.amount",
  "data.object.id / 0",
  "data.object.id % 4",
  "data.object.id - data.object.missing",
  "data.object.number + 1",
  "-data.object.id",
  "-data.object.number",
  "-data.object.missing",
  "data.object.status = 'paid' ? 'yes' : 'no'",
  "data.object.lines ? 'some' : 'none'",
  "data.object.missing ? 'x'",
  "data.object.empty ? 'x' : 'y'",
  "data.object.flags ? 'x' : 'y'",
  "data.object.status and data.object.id",
  "data.object.missing or data.object.number",
  "data.object.nested and true",
  "(data.object.number)",
  "(data.object.buyer.name ? ' by ' & data.object.buyer.name : '')",
  "($x := 1; $x)",
  "$number(data.object.price_gross)",
  "$number(data.object.id)",
  "$number(data.object.lines)",
  "$number(data.object.flags)",
  "$number(true)",
  "$number(null)",
  "$number('1e400')",
  "$number(data.object.lines.total_gross)",
  "$string(data.object.id)",
  "$string(data.object.amount)",
  "$string(data.object.buyer)",
  "$string(null)",
  "$lowercase(data.object.number)",
  "$uppercase(data.object.missing)",
  "$uppercase(data.object.id)",
  "$trim(data.object.text)",
  "$exists(data.object.number)",
  "$exists(data.object.missing)",
  "$boolean(data.object.number)",
  "$boolean(data.object.lines)",
  "$not(data.object.id)",
  "$not(data.object.missing)",
  "$contains(type, 'paid')",
  "$contains(data.object.missing, 'x')",
  "$contains(type, /paid/)",
  "$substringBefore(type, '.')",
  "$substringAfter(type, 'nothing')",
  "$substringAfter(data.object.id, '.')",
  "$substringAfter(type)",
  "$sum(data.object.lines.quantity)",
  "data.object.lines[quantity > 1].name",
  "data.object.lines[0]",
  "data.object.lines^(name)",
  "$",
  "$$.id",
  "data.*",
  "**.name",
  "data.object.lines.name[]",
  "data.object{ currency: price_gross }",
  "$error('x')",
];

async function viaJsonata(text: string, input: unknown): Promise<{ value?: string; threw?: string }> {
  try {
    const value: unknown = await jsonata(text).evaluate(input);
    return { value: value === undefined ? "undefined" : JSON.stringify(value) };
  } catch (error) {
    return { threw: String((error as { code?: string }).code ?? error) };
  }
}

describe("synchronous JSONata evaluation", () => {
  it("gives the same value as jsonata, or gives up, over the whole corpus", async () => {
    let same = 0;
    let gaveUp = 0;
    const mismatches: string[] = [];
    for (const text of EXPRESSIONS) {
      const evaluator = compileSync(jsonata(text).ast());
      for (const [index, input] of INPUTS.entries()) {
        const expected = await viaJsonata(text, input);
        const got = evaluator ? evaluator(input) : GIVE_UP;
        if (got === GIVE_UP) {
          gaveUp += 1;
          continue;
        }
        const shown = got === undefined ? "undefined" : JSON.stringify(got);
        if (expected.threw !== undefined) mismatches.push(`${text} on input ${index}: jsonata threw ${expected.threw}, sync gave ${shown}`);
        else if (shown !== expected.value) mismatches.push(`${text} on input ${index}: jsonata ${expected.value}, sync ${shown}`);
        else same += 1;
      }
    }
    expect(mismatches).toEqual([]);
    // The corpus exercises the fast path, not only the fallback.
    expect(same).toBeGreaterThan(400);
    expect(gaveUp).toBeGreaterThan(50);
  });

  it("evaluates the typical filter and transform (the bench's and the examples') without jsonata", () => {
    for (const text of [BENCH_FILTER, BENCH_TRANSFORM, 'data.object.currency = "PLN" and $number(data.object.price_gross) > 10000']) {
      const evaluator = compileSync(jsonata(text).ast());
      expect(evaluator, text).toBeDefined();
      expect(evaluator!(INPUTS[0]), text).not.toBe(GIVE_UP);
    }
  });

  it("leaves variables, lambdas, predicates and other functions to jsonata", () => {
    for (const text of ["($x := 1; $x)", "data.object.lines[0]", "$sum(data.object.lines.quantity)", "$$.id", "function($x) { $x }", "data.object.lines.name[]"]) {
      expect(compileSync(jsonata(text).ast()), text).toBeUndefined();
    }
  });

  it("gives up on an array input (jsonata wraps it first)", () => {
    expect(compileSync(jsonata("id").ast())!([{ id: 1 }])).toBe(GIVE_UP);
  });
});
