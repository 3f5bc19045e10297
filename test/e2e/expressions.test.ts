import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { openStateStore } from "../../src/store/open.js";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { startReceiver, verifySignature, type Receiver } from "../helpers/receiver.js";
import { closingAfterEach } from "../helpers/closing.js";

/**
 * Per-target `filter` and `transform` end to end: the real CLI, a fake REST source, real
 * receivers; signatures checked with the `standardwebhooks` package.
 */

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NAMES = ["big", "shaped", "listed", "text", "broken", "slow", "huge", "plain"] as const;
let api: FakeRest;
const receivers = {} as Record<(typeof NAMES)[number], Receiver>;

const closeLater = closingAfterEach();
beforeEach(async () => {
  api = closeLater(await startFakeRest());
  for (const name of NAMES) receivers[name] = closeLater(await startReceiver());
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
    expect(result.stderr).toMatch(/routing: 6 deliveries dead-lettered because a target's filter or transform failed/);
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
  }, 120_000);

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
  }, 120_000);

  it("once --dry-run prints per target whether each event passes; stdout keeps only the envelopes", async () => {
    api.create({ name: "Big", amount: "12500.00" });
    const { path, dir } = writeConfig({
      sources: [source()],
      targets: [
        { name: "big", url: receivers.big.url, filter: "$number(data.object.amount) > 1000" },
        { name: "small", url: receivers.plain.url, filter: "$number(data.object.amount) < 1000" },
        { name: "broken", url: receivers.broken.url, transform: '$error("no shape")' },
        { name: "others", url: receivers.text.url, events: ["invoice.*"] },
      ],
    });
    const result = await runCli(["once", "--dry-run", "-c", path]);
    expect(result.code, result.stderr).toBe(1);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const envelope = JSON.parse(lines[0]!) as { id: string };
    expect(result.stderr).toContain(`  ${envelope.id} cost_invoice.created: big passes, small filtered, broken fails (transform targets[2].transform failed on legacy/items/1 (event ${envelope.id}): no shape), others not subscribed`);
    for (const receiver of Object.values(receivers)) expect(receiver.requests).toHaveLength(0);
    expect(existsSync(join(dir, "data"))).toBe(false);
  }, 120_000);

  it("test-target --sample and --event show the filter's verdict and the body, and send only what passes", async () => {
    api.create({ name: "Alpha", amount: "50.00" });
    const { path } = writeConfig({
      sources: [source()],
      targets: [
        { name: "slack", url: receivers.shaped.url, secret: SECRET, events: ["cost_invoice.*"], filter: "$number(data.object.price_gross ? data.object.price_gross : data.object.amount) > 100", transform: '{"text": "Cost invoice " & (data.object.number ? data.object.number : data.object.name)}' },
      ],
    });
    const sample = await runCli(["test-target", "slack", "--sample", "cost_invoice.paid", "-c", path]);
    expect(sample.code, sample.stderr).toBe(0);
    expect(sample.stdout).toMatch(/^slack: event evt_test_[0-9a-f]+ \(cost_invoice\.paid from legacy\)\n {2}subscribed: yes\n {2}filter \(targets\[0\]\.filter\): passes\n {2}body \(transform targets\[0\]\.transform\):\n {2}\{"text":"Cost invoice FV 1\/2026"\}\nslack: HTTP 200 in \d+ ms/);
    expect(receivers.shaped.requests).toHaveLength(1);
    verifySignature(receivers.shaped.requests[0]!, SECRET);
    expect(receivers.shaped.requests[0]!.body).toBe('{"text":"Cost invoice FV 1/2026"}');

    expect((await runCli(["once", "-c", path])).code).toBe(0); // filtered out: 50 is not above 100
    expect(receivers.shaped.requests).toHaveLength(1);
    const store = await stateOf(path);
    const [entry] = await store.listLog({ target: "slack" });
    await store.close();
    expect(entry?.outcome).toBe("filtered");
    const stored = await runCli(["test-target", "slack", "--event", entry!.eventId, "-c", path]);
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stdout).toContain("filter (targets[0].filter): filtered out — nothing would be sent");
    expect(receivers.shaped.requests).toHaveLength(1);
    const unknown = await runCli(["test-target", "slack", "--event", "evt_nope", "-c", path]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no event evt_nope in state");
  }, 180_000);
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
  }, 60_000);

  it("a transform with a format other than standard is a config error", async () => {
    const { path } = writeConfig({
      sources: [restSourceYaml("http://127.0.0.1:9/", "t")],
      targets: [{ name: "a", url: "http://127.0.0.1:9/a", format: "cloudevents", transform: "data" }],
    });
    const result = await runCli(["validate", "-c", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/targets\[0\]\.transform: a transform builds the body itself; it cannot be combined with format cloudevents/);
  }, 60_000);
});
