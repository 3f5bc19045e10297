import { describe, expect, it } from "vitest";
import { cronProblem, isTimeZone } from "../../src/config/cron.js";
import { parseByteSize, parseDuration } from "../../src/config/duration.js";
import { formatPath, interpolate } from "../../src/config/interpolate.js";
import { parseConfig } from "../../src/config/load.js";
import { didYouMean } from "../../src/core/did-you-mean.js";
import { secretValues } from "../../src/config/secrets.js";

/** The two unit parsers: what each accepts (and the value it gives), and what it rejects. */
describe.each([
  {
    parser: "parseDuration",
    parse: parseDuration,
    accepts: [["500ms", 500], ["10s", 10_000], ["5m", 300_000], ["72h", 259_200_000], ["1d", 86_400_000], ["1h30m", 5_400_000], ["1.5s", 1500], [" 2m ", 120_000], ["0", 0], [0, 0]],
    rejects: ["30", 30, "", "5 minutes", "10x", "s", "-5s", "1h 30m"],
  },
  {
    parser: "parseByteSize",
    parse: parseByteSize,
    accepts: [["50MB", 52_428_800], ["512KB", 524_288], ["1GiB", 1_073_741_824], ["1000", 1000], [4096, 4096]],
    rejects: ["50 bananas", "MB", 0, -1, 1.5, "0"],
  },
] satisfies Array<{ parser: string; parse: (input: string | number) => unknown; accepts: Array<[string | number, number]>; rejects: Array<string | number> }>)("$parser", ({ parse, accepts, rejects }) => {
  it.each(accepts)("%j → %d", (input, value) => {
    expect(parse(input)).toEqual({ ok: true, value });
  });

  it.each(rejects)("rejects %j", (input) => {
    expect(parse(input)).toMatchObject({ ok: false });
  });
});

describe("cron and time zones", () => {
  it("accepts 5 and 6 fields and rejects the rest with the reason", () => {
    expect(cronProblem("*/1 * * * *")).toBeUndefined();
    expect(cronProblem("*/30 * * * * *")).toBeUndefined();
    expect(cronProblem("0 */6 * * *")).toBeUndefined();
    expect(cronProblem("* * *")).toContain("expected 5 or 6 fields but got 3");
    expect(cronProblem("61 * * * *")).toContain("minute");
  });

  it.each([
    ["Europe/Warsaw", true],
    ["UTC", true],
    ["Europe/Warsw", false],
    ["", false],
  ])("knows IANA zones: %j is one: %s", (zone, known) => {
    expect(isTimeZone(zone)).toBe(known);
  });
});

describe("interpolate", () => {
  it("substitutes, defaults, escapes and records whole-variable paths", () => {
    const result = interpolate(
      { a: "${A}", b: ["x-${B:-dflt}-y", "${C:-}", "$${A}", "$$ and $ alone"], n: 5, nested: { k: "${A}" } },
      { A: "1", B: "" },
    );
    expect(result.issues).toEqual([]);
    expect(result.value).toEqual({ a: "1", b: ["x-dflt-y", "", "${A}", "$$ and $ alone"], n: 5, nested: { k: "1" } });
    expect([...result.wholeVariablePaths].sort()).toEqual(["a", "b[1]", "nested.k"]);
  });

  it("reports missing variables and bad syntax by path, never by value", () => {
    const result = interpolate({ list: [{ token: "SECRET-abc123${MISSING}" }], bad: "SECRET-abc123${1X}", open: "SECRET-abc123${X" }, {});
    expect(result.issues.map((issue) => [formatPath(issue.path), issue.message.split(/ \(|;/)[0]])).toEqual([
      ["list[0].token", "environment variable MISSING is not set"],
      ["bad", 'invalid variable name in "${...}": use letters, digits and _, not starting with a digit'],
      ["open", 'unterminated "${"'],
    ]);
    for (const issue of result.issues) expect(issue.message).not.toContain("SECRET");
  });

  it("formats paths with brackets for odd keys", () => {
    expect(formatPath(["sources", 1, "resources", 0, "cursor", "fieldd"])).toBe("sources[1].resources[0].cursor.fieldd");
    expect(formatPath(["sources", 0, "headers", "X Bad"])).toBe('sources[0].headers["X Bad"]');
    expect(formatPath([])).toBe("(top level)");
  });
});

describe("didYouMean", () => {
  it("suggests close names only", () => {
    expect(didYouMean("schedul", ["schedule", "reconcile"])).toBe("schedule");
    expect(didYouMean("fieldd", ["field", "param"])).toBe("field");
    expect(didYouMean("Timezone", ["timezone"])).toBe("timezone");
    expect(didYouMean("banana", ["schedule", "reconcile"])).toBeUndefined();
  });
});

describe("secretValues", () => {
  it("takes secret keys and credential headers, not the headers that describe the request", () => {
    const config = parseConfig(`
state: { url: "sqlite::memory:" }
sources:
  - name: legacy
    type: rest
    base_url: http://127.0.0.1:9/api
    headers: { Authorization: "Bearer s3cretT0ken", X-Api-Key: k3yValue99, Accept: application/json, User-Agent: retrohook-test }
    resources: [{ name: items, path: /items }]
targets:
  - { name: erp, url: "http://127.0.0.1:9/hook", secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }
`, { path: "inline.yaml", env: {} });
    const values = secretValues(config);
    expect(values).toEqual(expect.arrayContaining(["Bearer s3cretT0ken", "s3cretT0ken", "k3yValue99", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]));
    expect(values).not.toContain("application/json");
    expect(values).not.toContain("retrohook-test");
  });
});
