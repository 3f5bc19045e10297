import { describe, expect, it } from "vitest";
import { baselineElements, baselineTexts } from "../../src/store/snapshot-codec.js";
import { seededRandom } from "../helpers/random.js";

/** What detection stores for each element: the text of its parsed value. */
const expected = (body: string, path?: string): string[] => {
  let items = JSON.parse(body) as unknown;
  for (const step of path ? path.split(".") : []) items = (items as Record<string, unknown>)[step];
  return (items as unknown[]).map((item) => JSON.stringify(item));
};

const texts = (body: string | Buffer, count: number, path?: string): string[] => baselineTexts({ bytes: Buffer.from(body), ...(path ? { path } : {}) }, count, "s/r/");

/** Elements read from the bytes (not parsed): those the scanner found to be their own text. */
const fromBytes = (body: string, count: number, path?: string): boolean[] => {
  const elements = baselineElements({ bytes: Buffer.from(body), ...(path ? { path } : {}) }, count, "s/r/");
  return elements.texts.map((text) => text === undefined);
};

describe("silent baseline texts from the response's bytes", () => {
  it("takes compact elements as they are and parses the others, always giving JSON.stringify's text", () => {
    const cases: Array<[string, boolean]> = [
      ['{"id":1,"n":"a","x":null,"t":true,"f":false,"l":[1,2,{"a":[]}],"o":{}}', true],
      ['{"s":"quote \\" slash \\\\ nl \\n tab \\t cr \\r bs \\b ff \\f"}', true],
      ['{"u":"é ✓ 𝄞 \u2028 \u007f"}', true],
      ['{"n":[0,-1,12345678901234,1.5,-0.25,1e+21,1e-7,1.23e-18]}', true],
      ['{ "id": 1 }', false],
      ['{"id":1,\n"x":2}', false],
      ['{"s":"\\u00e9"}', false],
      ['{"s":"\\u001f"}', false],
      ['{"s":"\\u001F"}', false],
      ['{"s":"\\/"}', false],
      ['{"s":"\\ud800"}', false],
      ['{"n":1.50}', false],
      ['{"n":1E3}', false],
      ['{"n":1e21}', false],
      ['{"n":-0}', false],
      ['{"n":12345678901234567890}', false],
      ['{"n":1e400}', false],
      ['{"n":0.1e1}', false],
      ['{"n":123e-20}', false],
      ['{"a":1,"a":2}', false],
      ['{"o":{"a":1,"b":{"a":2},"a":3}}', false],
      ['{"b":1,"2":2}', false],
      ['{"b":1,"01":2}', false],
      ['[1, 2]', false],
      ['{"a":1,"b":{"a":2}}', true],
      ['{"__proto__":{"x":1},"a":1}', true],
      ['{"":1,"a":"","b":[]}', true],
      ['"text"', true],
      ["42", true],
    ];
    for (const [element, own] of cases) {
      const body = `[${element},{"id":2}]`;
      expect(texts(body, 2), element).toEqual(expected(body));
      expect(fromBytes(body, 2), element).toEqual([own, true]);
    }
  });

  it("finds the array at a dotted path, the last of a repeated key as JSON.parse does", () => {
    const body = '{"meta":{"data":[{"x":1}]},"data":{"items":[{"id":9}]},"data":{"items":[{"id":1},{"id":2}],"n":"\\u0041"}}';
    expect(texts(body, 2, "data.items")).toEqual(['{"id":1}', '{"id":2}']);
    expect(fromBytes(body, 2, "data.items")).toEqual([true, true]);
    const escapedKey = '{"d\\u0061ta":[{"id":1}]}';
    expect(texts(escapedKey, 1, "data")).toEqual(['{"id":1}']);
    expect(texts(' \n[ {"id":1} ,\t{"id":2} ] \n', 2)).toEqual(['{"id":1}', '{"id":2}']);
    expect(fromBytes(' \n[ {"id":1} ,\t{"id":2} ] \n', 2)).toEqual([true, true]);
    expect(texts("[]", 0)).toEqual([]);
  });

  it("reads the body whole when it is no valid UTF-8, as before", () => {
    const body = Buffer.concat([Buffer.from('[{"s":"'), Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}]')]);
    expect(texts(body, 1)).toEqual([JSON.stringify(JSON.parse(body.toString("utf8"))[0])]);
  });

  it("names the resource when the array is not what was promised", () => {
    expect(() => texts('{"data":[{"id":1}]}', 2, "data")).toThrow(/baseline of s\/r\/: 2 records to write, 1 elements at "data"/);
    expect(() => texts('{"data":{}}', 1, "data")).toThrow(/1 records to write, no array at "data"/);
    expect(() => texts('{"other":[]}', 1, "data")).toThrow(/no array at "data"/);
    expect(() => texts("[1] junk", 1)).toThrow(SyntaxError);
    expect(() => texts('{"data":[1],"x":tru}', 1, "data")).toThrow(SyntaxError);
    expect(() => texts('{"data":[1],"data":5}', 1, "data")).toThrow(/no array at "data"/);
    expect(() => texts('{"data":{"items":[1]},"data":{}}', 1, "data.items")).toThrow(/no array at "data.items"/);
  });

  it("gives JSON.stringify's text for random bodies written in random ways", () => {
    const random = seededRandom(20);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const space = (): string => (random() < 0.05 ? pick([" ", "\n", "\t", "\r\n  "]) : "");
    const char = (): string => {
      const r = random();
      if (r < 0.6) return pick(["a", "b", "Z", "0", "9", " ", "-", "é", "ł", "✓", "𝄞", "\u2028"]);
      if (r < 0.8) return pick(['\\"', "\\\\", "\\n", "\\t", "\\r", "\\b", "\\f"]);
      return pick(["\\/", "\\u00e9", "\\u0001", "\\u001F", "\\uD834\\uDD1E", "\\ud800", "\\u2028"]);
    };
    const string = (): string => `"${Array.from({ length: Math.floor(random() * 6) }, char).join("")}"`;
    const number = (): string => pick(["0", "-0", "7", "-12", "1.5", "1.50", "0.001", "1e3", "1E-7", "2e21", "1e+21", "123456789012345", "1234567890123456789", "-0.0", "5e-324", "1e999"]);
    const key = (): string => (random() < 0.15 ? pick(['"1"', '"10"', '"007"', '""', '"a\\u0062"']) : pick(['"id"', '"a"', '"b"', '"total"', '"é"', '"x\\n"']));
    const value = (depth: number): string => {
      const r = random();
      if (depth > 3 || r < 0.5) return pick([string, number, () => pick(["true", "false", "null"])])();
      if (r < 0.75) return `[${space()}${Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1)).join(`${space()},${space()}`)}${space()}]`;
      return `{${space()}${Array.from({ length: Math.floor(random() * 5) }, () => `${key()}${space()}:${space()}${value(depth + 1)}`).join(`${space()},${space()}`)}${space()}}`;
    };
    let own = 0;
    for (let round = 0; round < 400; round += 1) {
      const count = 1 + Math.floor(random() * 5);
      const elements = Array.from({ length: count }, () => value(0));
      const body = random() < 0.5 ? `[${elements.join(",")}]` : `{"meta":${value(1)},"page":{"items":[${elements.join(`${space()},`)}]}}`;
      const path = body.startsWith("{") ? "page.items" : undefined;
      expect(texts(body, count, path), body).toEqual(expected(body, path));
      own += fromBytes(body, count, path).filter(Boolean).length;
    }
    expect(own).toBeGreaterThan(100); // the fast way was taken often enough to be tested
  });
});
