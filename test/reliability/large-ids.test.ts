import { afterEach, describe, expect, it } from "vitest";
import { startFakeServer, type FakeServer } from "../../src/simulators/kit.js";
import { ManualClock } from "../../src/clock.js";
import { parseJsonExact } from "../../src/sources/http/json-body.js";
import { MemoryStateStore } from "../helpers/memory-store.js";
import { passRunner, restResource, restSource, typesOf } from "../helpers/pass-harness.js";

/**
 * Issue 27, item 5: ids above 2^53 (9007199254740993 and 9007199254740992) were rounded by
 * `JSON.parse` to one number, so two records shared one snapshot and "A paid" went out as
 * "B paid, B unpaid". Ids are kept exactly as the vendor wrote them (the digits), in the record
 * key, `record_id` and `data.object`. Failed on e0998cc.
 */
const A = "9007199254740993";
const B = "9007199254740992";
let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function row(id: string, status: string, extra = ""): string {
  return `{"id": ${id}, "status": "${status}", "owner": ${id}${extra}, "amount": 12.5, "modified_at": "2026-11-23T09:00:00Z"}`;
}

describe("record ids above 2^53", () => {
  it("two records never merge; the id in record_id and data.object has the vendor's digits", async () => {
    let rows = [row(A, "issued"), row(B, "issued")];
    server = await startFakeServer((request) => (request.path === "/items" ? { status: 200, headers: { "content-type": "application/json" }, body: `[${rows.join(",")}]` } : { status: 404, body: {} }));
    const store = new MemoryStateStore(new ManualClock());
    const run = passRunner(() => store, restSource(server.url, "t", [restResource({ paid: { field: "status", to: "paid" } })]));
    const baseline = await run.pass("reconcile");
    expect(baseline.outcomes[0]).toMatchObject({ ok: true, baselined: 2, events: 0 });
    expect(await store.countSnapshots({ source: "legacy", resource: "items" })).toBe(2);

    rows = [row(A, "paid"), row(B, "issued")];
    const paid = await run.pass("reconcile");
    expect(typesOf(paid.events)).toEqual([`item.updated:${A}`, `item.paid:${A}`]);
    const object = paid.events[1]!.data.object;
    expect(String(object.id)).toBe(A);
    expect(String(object.owner)).toBe(A);
    expect(object.amount).toBe(12.5);
    expect(paid.events[0]!.data.previous).toEqual({ status: "issued" });

    expect((await run.pass("reconcile")).events).toEqual([]);
  });

  it("a serial-id cursor above 2^53 asks for exactly the ids after the last one seen", async () => {
    const ids = ["9007199254740993", "9007199254740995", "9007199254740997"];
    let listed = ids.slice(0, 2);
    const asked: string[] = [];
    server = await startFakeServer((request) => {
      if (request.path !== "/items") return { status: 404, body: {} };
      const after = request.query.get("id_gt");
      if (after !== null) asked.push(after);
      const rows = listed.filter((id) => after === null || BigInt(id) > BigInt(after)).map((id) => row(id, "issued"));
      return { status: 200, headers: { "content-type": "application/json" }, body: `[${rows.join(",")}]` };
    });
    const store = new MemoryStateStore(new ManualClock());
    const run = passRunner(() => store, restSource(server.url, "t", [restResource({ cursor: { field: "id", param: "id_gt", type: "id", format: "iso" } })]));
    await run.pass();
    listed = ids;
    const next = await run.pass();
    expect(asked).toEqual(["9007199254740995"]);
    expect(typesOf(next.events)).toEqual([`item.created:${ids[2]}`]);
  });
});

describe("parseJsonExact", () => {
  it("widens only whole integers beyond 2^53 outside strings", () => {
    const text = `{"a": 9007199254740993, "b": [-9007199254740995, 9007199254740991], "c": "9007199254740993", "d": 12345678901234567.5, "e": 1e17, "f": "x\\" 9007199254740993", "g": 90071992547409931234}`;
    expect(parseJsonExact(text)).toEqual({ a: "9007199254740993", b: ["-9007199254740995", 9007199254740991], c: "9007199254740993", d: Number("12345678901234567.5"), e: 1e17, f: 'x" 9007199254740993', g: "90071992547409931234" });
  });
});
