import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { openStateStore } from "../../src/store/open.js";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { startReceiver, verifySignature, type Receiver } from "../helpers/receiver.js";

/**
 * Per-target `filter` and `transform` end to end: the real CLI, a fake REST source, real
 * receivers; signatures checked with the `standardwebhooks` package.
 */

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NAMES = ["big", "shaped", "listed", "text", "broken", "slow", "huge", "plain"] as const;
let api: FakeRest;
const receivers = {} as Record<(typeof NAMES)[number], Receiver>;

beforeEach(async () => {
  api = await startFakeRest();
  for (const name of NAMES) receivers[name] = await startReceiver();
});
afterEach(async () => {
  await api.close();
  for (const receiver of Object.values(receivers)) await receiver.close();
});

const source = (): Record<string, unknown> => restSourceYaml(api.url, api.token, { start: "backfill", resources: [{ name: "items", type_prefix: "cost_invoice", path: "/items" }] });

async function stateOf(path: string) {
  return openStateStore(loadConfig(path).state.url, { readOnly: true });
}

describe("filter and transform per target", () => {
  it("filters, transforms to object/array/string bodies, signs the transformed body, and dead-letters only the failing targets", async () => {
    api.create({ name: "Big", amount: "12500.00", status: "issued" });
    api.create({ name: "Small", amount: "80.00", status: "issued" });
    const { path } = writeConfig({
      sources: [source()],
      expressions: { over_1000: "$number(data.object.amount) > 1000" },
      expression_limits: { timeout: "100ms", max_bytes: 2000 },
      targets: [
        { name: "big", url: receivers.big.url, secret: SECRET, filter: { use: "over_1000" } },
        { name: "shaped", url: receivers.shaped.url, secret: SECRET, transform: '{ "text": "Invoice " & data.object.name & " for " & data.object.amount, "ref": $.id }' },
        { name: "listed", url: receivers.listed.url, secret: SECRET, transform: "[data.object.id, data.object.name]" },
        { name: "text", url: receivers.text.url, secret: SECRET, transform: '"cost " & data.object.name' },
        { name: "broken", url: receivers.broken.url, secret: SECRET, transform: '$error("no ERP code for " & data.object.name)' },
        { name: "slow", url: receivers.slow.url, secret: SECRET, filter: "($spin := function($n) { $spin($n + 1) }; $spin(0))" },
        { name: "huge", url: receivers.huge.url, secret: SECRET, transform: '$pad("", 5000, "x")' },
        { name: "plain", url: receivers.plain.url, secret: SECRET },
      ],
    });
    const result = await runCli(["once", "-c", path]);
    // Dead letters make `once` exit 1; the pass and every other target went on.
    expect(result.code, result.stderr).toBe(1);

    expect(receivers.plain.requests).toHaveLength(2);
    expect(receivers.big.requests.map((r) => JSON.parse(r.body).data.object.name)).toEqual(["Big"]);
    for (const name of ["big", "shaped", "listed", "text", "plain"] as const) {
      for (const request of receivers[name].requests) {
        // The signature is over the exact bytes sent: the transformed body.
        verifySignature(request, SECRET);
        expect(request.headers["webhook-id"]).toMatch(/^evt_[0-9a-f]{32}$/);
      }
    }
    const ids = receivers.plain.requests.map((r) => r.headers["webhook-id"]);
    const byId = (receiver: Receiver) => receiver.requests.map((r) => [r.headers["webhook-id"], r.body]);
    const envelopes = receivers.plain.requests.map((r) => JSON.parse(r.body) as { id: string; data: { object: { id: number; name: string; amount: string } } });
    // The envelope id stays the webhook-id of the transformed deliveries.
    expect(byId(receivers.shaped)).toEqual(envelopes.map((e) => [e.id, JSON.stringify({ text: `Invoice ${e.data.object.name} for ${e.data.object.amount}`, ref: e.id })]));
    expect(byId(receivers.listed)).toEqual(envelopes.map((e) => [e.id, JSON.stringify([e.data.object.id, e.data.object.name])]));
    expect(byId(receivers.text)).toEqual(envelopes.map((e) => [e.id, JSON.stringify(`cost ${e.data.object.name}`)]));
    for (const request of receivers.shaped.requests) expect(request.headers["content-type"]).toMatch(/^application\/json/);
    expect(receivers.broken.requests).toHaveLength(0);
    expect(receivers.slow.requests).toHaveLength(0);
    expect(receivers.huge.requests).toHaveLength(0);

    const store = await stateOf(path);
    try {
      const dead = await store.listDeadLetters();
      const reasons = (target: string) => dead.filter((d) => d.target === target).map((d) => d.reason);
      expect(reasons("broken")).toHaveLength(2);
      expect(reasons("broken")[0]).toMatch(/^transform targets\[4\]\.transform failed on legacy\/items\/\d+ \(event evt_[0-9a-f]+\): no ERP code for (Big|Small)/);
      expect(reasons("slow")).toHaveLength(2);
      expect(reasons("slow")[0]).toMatch(/^filter targets\[5\]\.filter failed on legacy\/items\/\d+ .*ran longer than the 100 ms limit/);
      expect(reasons("huge")[0]).toMatch(/^transform targets\[6\]\.transform failed on .*returned 5002 bytes of JSON, more than the 2000-byte limit/);
      expect(dead.every((d) => d.attempts === 0)).toBe(true);

      const log = await store.listLog({ target: "big" });
      expect(log.map((entry) => entry.outcome).sort()).toEqual(["delivered", "filtered"]);
      const filtered = log.find((entry) => entry.outcome === "filtered")!;
      expect(filtered).toMatchObject({ target: "big", eventType: "cost_invoice.created", attempt: 0 });
      expect(ids).toContain(filtered.eventId);
      expect((await store.listLog({ target: "broken" })).map((e) => e.outcome)).toEqual(["dead", "dead"]);
      expect(await store.listPending()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("a replay sends the same bytes after the expression changed; a dead letter whose expression failed is routed again through the fixed one", async () => {
    api.create({ name: "Alpha", amount: "10.00" });
    const erp = receivers.shaped;
    erp.reply({ status: 422, body: "unknown vendor" });
    const targets = (shape: string, broken: string) => [
      { name: "erp", url: erp.url, secret: SECRET, transform: shape },
      { name: "fixme", url: receivers.broken.url, secret: SECRET, transform: broken },
    ];
    const { path, dir } = writeConfig({ sources: [source()], targets: targets('{"vendor": data.object.name, "v": 1}', "$undefinedFunction()") });
    expect((await runCli(["once", "-c", path])).code).toBe(1);
    expect(erp.requests).toHaveLength(1);
    const first = erp.requests[0]!;
    expect(JSON.parse(first.body)).toEqual({ vendor: "Alpha", v: 1 });

    // The config's expressions change; the receiver is fixed; both dead letters are replayed.
    writeConfig({ sources: [source()], targets: targets('{"vendor": data.object.name, "v": 2}', '{"fixed": data.object.name}') }, dir);
    erp.reply({ status: 204 });
    const replay = await runCli(["replay", "--dead-letters", "-c", path]);
    expect(replay.code, replay.stderr).toBe(0);
    const again = await runCli(["once", "-c", path]);
    expect(again.code, again.stderr).toBe(0);

    expect(erp.requests).toHaveLength(2);
    const second = erp.requests[1]!;
    expect(second.body).toBe(first.body);
    expect(second.headers["webhook-id"]).toBe(first.headers["webhook-id"]);
    verifySignature(second, SECRET);
    // Nothing was ever fixed for `fixme` (its transform failed): the replay used today's expression.
    expect(receivers.broken.requests.map((r) => JSON.parse(r.body))).toEqual([{ fixed: "Alpha" }]);
    verifySignature(receivers.broken.requests[0]!, SECRET);
  });
});

describe("expression syntax errors", () => {
  it("exit 2 naming the path, and the line and column inside the expression, for filter, transform and named expressions", async () => {
    const { path } = writeConfig({
      sources: [restSourceYaml("http://127.0.0.1:9/", "t")],
      expressions: { shape: '{\n  "a": data.object.id,\n  "b": (1 + \n}' },
      targets: [
        { name: "a", url: "http://127.0.0.1:9/a", filter: "data.object.amount > 10 and" },
        { name: "b", url: "http://127.0.0.1:9/b", transform: '{"x": data.object.id,,}' },
        { name: "c", url: "http://127.0.0.1:9/c", transform: { use: "shape" } },
        { name: "d", url: "http://127.0.0.1:9/d", transform: { use: "nope" } },
      ],
    });
    const result = await runCli(["validate", "-c", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/targets\[0\]\.filter: JSONata syntax error at line 1, column 28 of the expression: .*\(line \d+, column \d+\)/);
    expect(result.stderr).toMatch(/targets\[1\]\.transform: JSONata syntax error at line 1, column 22 of the expression: .*\(line \d+, column \d+\)/);
    expect(result.stderr).toMatch(/expressions\.shape: JSONata syntax error at line 4, column 1 of the expression/);
    expect(result.stderr).toMatch(/targets\[3\]\.transform\.use: no expression named "nope" under expressions \(defined: shape\)/);
  });

  it("a transform with a format other than standard is a config error", async () => {
    const { path } = writeConfig({
      sources: [restSourceYaml("http://127.0.0.1:9/", "t")],
      targets: [{ name: "a", url: "http://127.0.0.1:9/a", format: "cloudevents", transform: "data" }],
    });
    const result = await runCli(["validate", "-c", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/targets\[0\]\.transform: a transform builds the body itself; it cannot be combined with format cloudevents/);
  });
});
