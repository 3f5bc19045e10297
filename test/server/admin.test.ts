import { redactedUrl } from "../../src/telemetry/logger.js";
import { request } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { restSourceYaml } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { startReceiver, verifySignature, type Receiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp.js";
import { eventually, NEVER, startDaemon, type Daemon } from "./harness.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

let api: FakeRest;
let erp: Receiver;
let daemon: Daemon;
let dir: string;

function config() {
  return {
    sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill" })],
    targets: [{ name: "erp", url: erp.url, secret: SECRET }],
  };
}

beforeEach(async () => {
  api = await startFakeRest();
  erp = await startReceiver({ status: 400, body: "rejected" });
  api.create();
  api.create();
  dir = tempDir();
  daemon = await startDaemon(config(), { dir });
  await eventually(async () => (await daemon.app.store.listDeadLetters("erp")).length === 2, "two dead letters");
});
afterEach(async () => {
  await daemon.stop();
  await api.close();
  await erp.close();
});

/** A request with the path exactly as given (fetch would normalise `..`). */
function rawRequest(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe("health", () => {
  it("/healthz is alive; /readyz checks config, state and scheduler", async () => {
    expect(await daemon.api("GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await daemon.api("GET", "/readyz")).toMatchObject({ status: 200, body: { ready: true, checks: { config: true, state: true, scheduler: true } } });
    await daemon.scheduler.stop(1000);
    expect(await daemon.api("GET", "/readyz")).toMatchObject({ status: 503, body: { ready: false, checks: { scheduler: false } } });
  });

  it("/readyz answers 503 with state false when the state does not answer in time (a PostgreSQL pool waiting for a free connection), instead of hanging", async () => {
    process.env.RETROHOOK_TEST_READYZ_STATE_MS = "300";
    const store = daemon.app.store;
    const asked = Object.getOwnPropertyDescriptor(store, "getSourceState");
    Object.defineProperty(store, "getSourceState", { value: () => new Promise(() => undefined), configurable: true, writable: true });
    try {
      expect(await daemon.api("GET", "/readyz")).toMatchObject({ status: 503, body: { ready: false, checks: { state: false } } });
    } finally {
      if (asked) Object.defineProperty(store, "getSourceState", asked);
      else delete (store as unknown as Record<string, unknown>).getSourceState;
      delete process.env.RETROHOOK_TEST_READYZ_STATE_MS;
    }
  });
});

describe("admin API", () => {
  it("shows sources with cursor, passes and counts, and a rejecting target as failing with its dead letters", async () => {
    const { body } = await daemon.api<{ sources: Array<Record<string, unknown>>; targets: Array<Record<string, unknown>> }>("GET", "/api/status");
    const source = body.sources[0] as { name: string; health: string; nextPass: { incremental: string }; resources: Array<Record<string, unknown>> };
    expect(source).toMatchObject({ name: "legacy", health: "ok", suspended: null, backoff: null });
    expect(Date.parse(source.nextPass.incremental)).toBeGreaterThan(Date.now());
    expect(source.resources[0]).toMatchObject({ name: "items", initialized: true, records: 2, suspended: null, heldDeletions: null, lastError: null });
    expect(source.resources[0]!.cursor).not.toBeNull();
    expect(body.targets[0]).toMatchObject({ name: "erp", health: "failing", pending: 0, deadLetters: 2, paused: null, breaker: { status: "closed" }, lastAttempt: { outcome: "dead", status: 400 } });
    expect((await daemon.api("GET", "/api/sources/legacy")).body).toMatchObject({ name: "legacy" });
    expect((await daemon.api("GET", "/api/targets/erp")).body).toMatchObject({ name: "erp", deadLetters: 2 });
  });

  it("filters the delivery log by target, type, status and record, with request and response summaries", async () => {
    erp.reply({ status: 200 });
    api.update(1, { status: "paid" });
    await daemon.pass();
    await erp.waitFor(4);
    await eventually(async () => (await daemon.app.store.listLog({ limit: 10 })).length === 4, "four log entries");

    const all = (await daemon.api<Array<Record<string, unknown>>>("GET", "/api/log")).body;
    expect(all).toHaveLength(4);
    expect(all[0]).toMatchObject({ target: "erp", attempt: 1, request: { method: "POST", url: redactedUrl(erp.url), format: "standard" } });
    const dead = (await daemon.api<Array<{ eventType: string; status: number; error: string }>>("GET", "/api/log?status=dead")).body;
    expect(dead.map((e) => e.eventType)).toEqual(["item.created", "item.created"]);
    expect(dead[0]).toMatchObject({ status: 400, error: expect.stringMatching(/HTTP 400/) });
    expect((await daemon.api<unknown[]>("GET", "/api/log?status=400")).body).toHaveLength(2);
    expect((await daemon.api<unknown[]>("GET", "/api/log?status=delivered")).body).toHaveLength(2);
    expect((await daemon.api<unknown[]>("GET", "/api/log?type=item.paid")).body).toHaveLength(1);
    expect((await daemon.api<unknown[]>("GET", "/api/log?type=item.*&target=erp")).body).toHaveLength(4);
    const record1 = (await daemon.api<Array<{ record: { id: string; label: string } }>>("GET", "/api/log?record=1")).body;
    expect(record1.map((e) => e.record.label)).toEqual(["legacy/items/1", "legacy/items/1", "legacy/items/1"]);
    expect((await daemon.api<unknown[]>("GET", "/api/log?record=legacy/items/2")).body).toHaveLength(1);
    expect((await daemon.api<unknown[]>("GET", "/api/log?limit=1")).body).toHaveLength(1);
  });

  it("replays one dead letter with its id, and all of a target's", async () => {
    const dead = (await daemon.api<Array<{ eventId: string; reason: string; response: { status: number; body: string } }>>("GET", "/api/dead-letters?target=erp")).body;
    expect(dead).toHaveLength(2);
    expect(dead[0]).toMatchObject({ reason: expect.stringMatching(/HTTP 400/), response: { status: 400, body: "rejected" } });
    erp.reply({ status: 204 });
    const one = await daemon.api("POST", `/api/events/${dead[0]!.eventId}/replay`, { target: "erp" });
    expect(one).toMatchObject({ status: 200, body: { requeued: 1, targets: ["erp"], from: "dead-letters" } });
    await erp.waitFor(3);
    expect(erp.requests[2]!.headers["webhook-id"]).toBe(dead[0]!.eventId);
    verifySignature(erp.requests[2]!, SECRET);
    expect(await daemon.api("POST", "/api/targets/erp/replay", {})).toMatchObject({ status: 200, body: { requeued: 1 } });
    await erp.waitFor(4);
    expect(erp.requests[3]!.headers["webhook-id"]).toBe(dead[1]!.eventId);
    await eventually(async () => (await daemon.app.store.listDeadLetters()).length === 0, "no dead letters");
    // A delivered event replays as a new delivery of the same id.
    expect(await daemon.api("POST", `/api/events/${dead[0]!.eventId}/replay`)).toMatchObject({ status: 200, body: { requeued: 1, from: "event" } });
    await erp.waitFor(5);
    expect(erp.requests[4]!.headers["webhook-id"]).toBe(dead[0]!.eventId);
    expect(await daemon.api("POST", "/api/events/evt_nope/replay", {})).toMatchObject({ status: 404, body: { error: 'no event "evt_nope" in state: never detected here, or pruned (state.retention.events = 30d)' } });
  });

  it("sends a signed retrohook.test event with null resource, kind and record_id", async () => {
    erp.reply({ status: 202, body: "thanks" });
    const result = await daemon.api("POST", "/api/targets/erp/test", {});
    expect(result).toMatchObject({ status: 200, body: { ok: true, status: 202, target: "erp", responseBody: "thanks" } });
    const body = verifySignature(erp.requests.at(-1)!, SECRET);
    expect(body).toMatchObject({ type: "retrohook.test", resource: null, kind: null, record_id: null });
    erp.reply({ status: 500 });
    expect((await daemon.api("POST", "/api/targets/erp/test", {})).body).toMatchObject({ ok: false, status: 500 });
    expect(await daemon.api("POST", "/api/targets/nope/test", {})).toMatchObject({ status: 404, body: { error: expect.stringMatching(/no target named "nope"/) } });
  });

  it("pauses a target until resumed, also across a restart", async () => {
    erp.reply({ status: 200 });
    expect(await daemon.api("POST", "/api/targets/erp/pause", { reason: "receiver maintenance" })).toMatchObject({ status: 200, body: { health: "paused", paused: { reason: expect.stringMatching(/receiver maintenance/) } } });
    const before = erp.requests.length;
    api.create();
    await daemon.pass();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(erp.requests.length).toBe(before);
    expect((await daemon.api("GET", "/api/targets/erp")).body).toMatchObject({ pending: 1, health: "paused" });

    await daemon.stop();
    daemon = await startDaemon(config(), { dir });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(erp.requests.length).toBe(before);
    expect((await daemon.api("GET", "/api/targets/erp")).body).toMatchObject({ pending: 1, paused: { reason: expect.stringMatching(/maintenance/) } });

    expect(await daemon.api("POST", "/api/targets/erp/resume", {})).toMatchObject({ status: 200 });
    await erp.waitFor(before + 1);
    expect(JSON.parse(erp.requests.at(-1)!.body)).toMatchObject({ type: "item.created", record_id: "3" });
  });

  it("runs a pass now, shows a record with its events, and resets a resource", async () => {
    api.update(2, { status: "paid", amount: "120.00" });
    const pass = await daemon.api("POST", "/api/sources/legacy/pass", { mode: "reconcile", wait: true });
    expect(pass).toMatchObject({ status: 200, body: { state: "done", mode: "reconcile", outcomes: [{ resource: "items", ok: true, events: 2 }] } });
    await eventually(async () => (await daemon.app.store.listDeadLetters("erp")).length === 4, "four dead letters");

    const record = (await daemon.api<{ snapshot: { object: Record<string, unknown> }; events: Array<{ type: string; previous: unknown; deadLetters: string[] }> }>("GET", "/api/records?source=legacy&resource=items&id=2")).body;
    expect(record.snapshot.object).toMatchObject({ id: 2, status: "paid", amount: "120.00" });
    expect(record.events.map((e) => e.type)).toEqual(["item.created", "item.updated", "item.paid"]);
    expect(record.events[1]!.previous).toEqual({ status: "issued", amount: "100.00", modified_at: expect.any(String) });
    expect(record.events.every((e) => e.deadLetters.includes("erp"))).toBe(true);
    const event = await daemon.api<{ event: { id: string }; deliveries: unknown[] }>("GET", `/api/events/${(record.events[0] as unknown as { id: string }).id}`);
    expect(event.body.deliveries).toHaveLength(1);
    expect((await daemon.api("GET", "/api/records?source=legacy&resource=items&id=99")).body).toMatchObject({ snapshot: null, events: [] });
    expect(await daemon.api("GET", "/api/records?source=legacy")).toMatchObject({ status: 400, body: { error: "missing query parameter(s): resource, id" } });

    expect(await daemon.api("POST", "/api/sources/legacy/reset", { resource: "items" })).toMatchObject({ status: 200, body: { resources: ["items"], released: 0 } });
    const status = (await daemon.api<{ sources: Array<{ resources: Array<{ records: number; cursor: unknown }> }> }>("GET", "/api/status")).body;
    expect(status.sources[0]!.resources[0]).toMatchObject({ records: 0, cursor: null });
    expect(await daemon.api("POST", "/api/sources/legacy/reset", { resource: "nope" })).toMatchObject({ status: 404 });
    expect(await daemon.api("POST", "/api/sources/legacy/pass", { mode: "sideways" })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/"mode"/) } });
  });

  it("answers bad requests with a 4xx and a clear JSON error, and keeps serving", async () => {
    const url = daemon.url;
    const json = { "content-type": "application/json" };
    const malformed = await rawRequest(url, "POST", "/api/targets/erp/pause", json, "{not json");
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body).error).toMatch(/malformed JSON body/);
    expect((await rawRequest(url, "POST", "/api/targets/erp/pause", json, "[1,2]")).status).toBe(400);
    expect((await rawRequest(url, "POST", "/api/targets/erp/pause", { "content-type": "text/plain" }, "reason=x")).status).toBe(415);
    for (const headers of [json, { ...json, "transfer-encoding": "chunked" }]) {
      const huge = await rawRequest(url, "POST", "/api/targets/erp/pause", headers, Buffer.alloc(3 * 1024 * 1024, 0x20));
      expect(huge.status).toBe(413);
      expect(JSON.parse(huge.body).error).toMatch(/larger than the limit of 1048576 bytes/);
    }
    const notFound = await rawRequest(url, "GET", "/api/nope");
    expect(notFound.status).toBe(404);
    expect(JSON.parse(notFound.body).error).toMatch(/no such endpoint: \/api\/nope/);
    const wrongMethod = await rawRequest(url, "GET", "/api/targets/erp/pause");
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe("POST");
    expect((await rawRequest(url, "DELETE", "/api/status")).status).toBe(405);
    expect((await rawRequest(url, "POST", "/healthz")).status).toBe(405);
    for (const path of ["/ui/../../etc/passwd", "/ui/%2e%2e/%2e%2e/etc/passwd", "/ui/..%2f..%2fetc%2fpasswd", "/..", "/ui/%5c..%5cpackage.json"]) {
      const response = await rawRequest(url, "GET", path);
      expect(response.status, path).toBe(400);
      expect(JSON.parse(response.body).error).toMatch(/path traversal|percent-encoding/);
    }
    expect((await rawRequest(url, "GET", "/ui/%E0%A4%A")).status).toBe(400);
    expect((await rawRequest(url, "GET", "/ui/package.json")).status).toBe(404);
    expect((await rawRequest(url, "GET", "/api/log?limit=abc")).status).toBe(400);
    expect((await rawRequest(url, "GET", "/api/log?target=nope")).status).toBe(404);
    // A page elsewhere cannot act through the browser (CSRF) nor read through DNS rebinding.
    expect((await rawRequest(url, "POST", "/api/targets/erp/pause", { ...json, origin: "http://evil.example" }, "{}")).status).toBe(403);
    expect((await rawRequest(url, "GET", "/api/status", { host: "evil.example:8080" })).status).toBe(403);
    expect((await daemon.api("GET", "/api/targets/erp")).body).toMatchObject({ paused: null });
    expect((await daemon.api("GET", "/healthz")).status).toBe(200);
    expect((await daemon.api("GET", "/api")).body).toMatchObject({ endpoints: expect.arrayContaining(["GET /api/status — sources and targets at a glance"]) });
  });
});
