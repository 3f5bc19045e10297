import { describe, expect, it } from "vitest";
import type { EventEnvelope } from "../../src/core/types.js";
import { sampleEnvelope } from "../../src/core/sample-event.js";
import { storedEventOf } from "../../src/store/event-body.js";

/** A stored event read back must be the body parsed whole, whichever way it was read. */
function expectSameAsParsed(body: string): void {
  const { envelope, body: kept } = storedEventOf(body);
  expect(kept).toBe(body);
  expect(Object.keys(envelope)).toEqual(Object.keys(JSON.parse(body) as object));
  expect(JSON.stringify(envelope)).toBe(JSON.stringify(JSON.parse(body)));
  expect(envelope).toEqual(JSON.parse(body));
}

const lazy = (envelope: EventEnvelope): boolean => typeof Object.getOwnPropertyDescriptor(envelope, "data")?.get === "function";

describe("a stored event's envelope: the head parsed, data when read", () => {
  it("reads the head of a body as retrohook writes it without parsing data, and data once when read", () => {
    const body = JSON.stringify(sampleEnvelope("invoice.paid", "shop", Date.parse("2026-01-02T03:04:05Z"), "evt_1"));
    const { envelope } = storedEventOf(body);
    expect(lazy(envelope)).toBe(true);
    expect([envelope.id, envelope.type, envelope.source, envelope.kind, envelope.detected_at]).toEqual(["evt_1", "invoice.paid", "shop", null, "2026-01-02T03:04:05.000Z"]);
    expect(lazy(envelope)).toBe(true);
    const data = envelope.data;
    expect(data).toEqual((JSON.parse(body) as EventEnvelope).data);
    expect(lazy(envelope)).toBe(false);
    expect(envelope.data).toBe(data);
    expectSameAsParsed(body);
    // Written like any property once read or set.
    envelope.data = { object: { id: 2 } };
    expect(envelope.data).toEqual({ object: { id: 2 } });
    const other = storedEventOf(body).envelope;
    other.data = { object: { id: 3 } };
    expect(JSON.stringify(other)).toBe(JSON.stringify({ ...JSON.parse(body), data: { object: { id: 3 } } }));
  });

  it("head values holding quotes, backslashes, `,\"data\":` and other text give the same envelope as a whole parse", () => {
    const nasty = ['a,"data":{"x":1}', 'ends with \\', '\\",\\"data\\":', "ünïcødé ✓ \u2028", '"', "}}", "", "data"];
    for (const text of nasty) {
      const envelope: EventEnvelope = { id: `evt_${text}`, type: `t.${text}`, source: text, resource: text, kind: text, record_id: text, detected_at: text, data: { object: { data: text, '"data"': [text] }, previous: { x: text } } };
      expect(lazy(storedEventOf(JSON.stringify(envelope)).envelope)).toBe(true);
      expectSameAsParsed(JSON.stringify(envelope));
    }
  });

  it("random envelopes: the same envelope as a whole parse", () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const alphabet = ['"', "\\", ",", ":", "{", "}", "[", "]", "d", "a", "t", " ", "\n", "é", "\u0001", "𝄞"];
    const text = (): string => Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    const maybeNull = (): string | null => (random() < 0.3 ? null : text());
    for (let i = 0; i < 300; i++) {
      const envelope: EventEnvelope = { id: text(), type: text(), source: text(), resource: maybeNull(), kind: maybeNull(), record_id: maybeNull(), detected_at: text(), data: { object: { [text()]: text(), n: random() } } };
      expectSameAsParsed(JSON.stringify(envelope));
    }
  });

  it("any other text is parsed whole: data not last, a key missing or added, a head value that is not text, no data", () => {
    const head = { id: "e", type: "t", source: "s", resource: null, kind: null, record_id: "1", detected_at: "d" };
    const bodies = [
      JSON.stringify({ data: { object: {} }, ...head }),
      JSON.stringify({ ...head, data: { object: {} }, extra: 1 }),
      JSON.stringify({ ...head, data: { object: {} }, extra: "x}}" }),
      JSON.stringify({ ...head, extra: "x", data: { object: {} } }),
      JSON.stringify({ ...head, kind: { data: 1 }, data: { object: {} } }),
      JSON.stringify({ ...head, kind: 1, data: { object: {} } }),
      JSON.stringify({ ...head, source: undefined, data: { object: {} } }),
      JSON.stringify(head),
      JSON.stringify({ ...head, data: null }),
    ];
    for (const body of bodies) {
      expect(lazy(storedEventOf(body).envelope)).toBe(false);
      expectSameAsParsed(body);
    }
    expect(() => storedEventOf('{"id":"e","data":{')).toThrow(SyntaxError);
  });
});
