import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { refreshGauges } from "../../src/server/metrics-refresh.js";
import { openStateStore } from "../../src/store/open.js";
import type { EnqueueItem, StateStore } from "../../src/store/store.js";
import { Metrics } from "../../src/telemetry/metrics.js";
import { restSourceYaml } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { tempDir } from "../helpers/tmp.js";
import { NEVER, startDaemon } from "../server/harness.js";

/**
 * #27 item 6: `/metrics` read the whole outbox (every pending delivery and dead letter, parsed)
 * on every scrape, and answered anyone. A scrape now reads kept counts, and off loopback it
 * needs the admin token unless `server.metrics_public: true`.
 */

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const ADMIN_TOKEN = "METRICS-TOKEN-5Jq8Zr2Lw7Xc4Vb9Nm1Kp6Ts3Hd0Gf-yQe";

function items(count: number, targets: string[], from = 0): EnqueueItem[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const envelope = { id: `ev-${n}`, type: "invoice.created", source: "s", resource: "invoices", kind: null, record_id: String(n), detected_at: new Date(1_000_000 + n * 1000).toISOString(), data: { object: { id: n } } };
    return { event: { envelope, body: JSON.stringify(envelope) }, recordKey: `s/invoices/\u001f${n}`, targets };
  });
}

/** A store that records which of its methods were called. */
function watched(store: StateStore): { store: StateStore; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

function gaugeConfig(dir: string) {
  return parseConfig(
    `state: { url: "sqlite://./state.sqlite" }\nsources:\n  - { name: legacy, type: rest, base_url: "http://127.0.0.1:9", resources: [{ name: invoices, path: /invoices }] }\ntargets:\n  - { name: erp, url: "http://127.0.0.1:9/hook" }\n  - { name: crm, url: "http://127.0.0.1:9/hook" }\n`,
    { path: join(dir, "config.yaml"), env: {} },
  );
}

async function scrapeGauges(store: StateStore, config: ReturnType<typeof gaugeConfig>, now: number): Promise<string> {
  const metrics = new Metrics();
  await refreshGauges({ config, store, metrics, budgets: new Map(), now });
  return metrics.registry.metrics();
}

describe("/metrics under a backlog", () => {
  it("a scrape reads no pending delivery or dead letter (kept counts), and its gauges are exact", async () => {
    const dir = tempDir();
    const store = await openStateStore(`sqlite://${join(dir, "state.sqlite")}`);
    cleanup.push(() => store.close());
    const created = await store.enqueue(items(3000, ["erp", "crm"]));
    for (const delivery of created.filter((d) => d.target === "crm").slice(0, 40)) {
      await store.deadLetter(delivery, { target: "crm", eventId: delivery.eventId, recordKey: delivery.recordKey, at: new Date(0).toISOString(), attempts: 1, reason: "410" }, { at: new Date(0).toISOString(), target: "crm", eventId: delivery.eventId, eventType: "invoice.created", recordKey: delivery.recordKey, attempt: 1, outcome: "dead", latencyMs: 1 });
    }
    const { store: spy, calls } = watched(store);
    const text = await scrapeGauges(spy, gaugeConfig(dir), 1_000_000 + 3600_000);
    expect(calls.filter((c) => c === "listPending" || c === "listDeadLetters")).toEqual([]);
    // Whole sample lines. The oldest pending of erp is ev-0 (detected at 1,000,000 ms); crm's first 40 are dead letters.
    expect(text.split("\n")).toEqual(
      expect.arrayContaining([
        'retrohook_outbox_pending{target="erp"} 3000',
        'retrohook_outbox_pending{target="crm"} 2960',
        'retrohook_dead_letters{target="crm"} 40',
        'retrohook_dead_letters{target="erp"} 0',
        'retrohook_outbox_oldest_pending_age_seconds{target="erp"} 3600',
        'retrohook_outbox_oldest_pending_age_seconds{target="crm"} 3560',
      ]),
    );
    // Every call a scrape makes is per target (3), source (1) or resource (1); none grows with the queue.
    expect(calls.length).toBeLessThanOrEqual(2 * 3 + 1 + 1);
  });

  it("a state file written before the counts existed is counted once on open, then kept", async () => {
    const dir = tempDir();
    const url = `sqlite://${join(dir, "state.sqlite")}`;
    const first = await openStateStore(url);
    await first.enqueue(items(500, ["erp"]));
    await first.close();
    // What an older build left: no counts table, no triggers.
    const db = new Database(join(dir, "state.sqlite"));
    db.exec("DROP TRIGGER kv_counts_insert; DROP TRIGGER kv_counts_delete; DROP TABLE kv_counts");
    db.close();
    const store = await openStateStore(url);
    cleanup.push(() => store.close());
    expect(await store.queueGauges("erp")).toMatchObject({ pending: 500, deadLetters: 0, oldestPendingEventId: "ev-0" });
    await store.enqueue(items(20, ["erp", "crm"], 500));
    const [oldest] = await store.listPending("erp");
    await store.ackDelivery(oldest!, { at: new Date(0).toISOString(), target: "erp", eventId: oldest!.eventId, eventType: "invoice.created", recordKey: oldest!.recordKey, attempt: 1, outcome: "delivered", latencyMs: 1 });
    expect(await store.queueGauges("erp")).toEqual({ pending: 519, deadLetters: 0, oldestPendingEventId: "ev-1" });
    expect(await store.queueGauges("crm")).toEqual({ pending: 20, deadLetters: 0, oldestPendingEventId: "ev-500" });
  });
});

describe("/metrics access", () => {
  async function daemonAt(server: Record<string, unknown>) {
    const api = await startFakeRest();
    cleanup.push(() => api.close());
    const daemon = await startDaemon({ server, sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER })], targets: [] });
    cleanup.push(() => daemon.stop());
    return daemon;
  }

  it("off loopback, /metrics needs the admin token (401 without, 200 with); /healthz and /readyz do not", async () => {
    const daemon = await daemonAt({ listen: "0.0.0.0:0", admin_token: ADMIN_TOKEN });
    for (const token of [undefined, "wrong"]) {
      const refused = await daemon.api("GET", "/metrics", undefined, token);
      expect(refused.status).toBe(401);
      expect(refused.text).toContain("server.metrics_public");
      expect(refused.text).not.toContain("retrohook_");
    }
    const allowed = await daemon.api("GET", "/metrics", undefined, ADMIN_TOKEN);
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain("retrohook_outbox_pending");
    expect((await daemon.api("GET", "/healthz")).status).toBe(200);
  });

  it("server.metrics_public: true serves /metrics off loopback without the token; on loopback it never needs one", async () => {
    const open = await daemonAt({ listen: "0.0.0.0:0", admin_token: ADMIN_TOKEN, metrics_public: true });
    expect((await open.api("GET", "/metrics")).status).toBe(200);
    expect((await open.api("GET", "/api/status")).status).toBe(401);
    const local = await daemonAt({ listen: "127.0.0.1:0", admin_token: ADMIN_TOKEN });
    expect((await local.api("GET", "/metrics")).status).toBe(200);
  });
});
