import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { openApp } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";
import { openStateStore } from "../../src/store/open.js";
import type { EnqueueItem, ResourceId, StateStore } from "../../src/store/store.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { postgresForFile } from "../helpers/postgres.js";
import { tempDir } from "../helpers/tmp.js";

const pgServer = postgresForFile();

/**
 * A later pass stages its events until it ends (docs/decisions/0014); one killed part-way leaves
 * them to the next pass of the resource. When the resource left the config meanwhile there is no
 * next pass: the staging is dropped at start, the snapshots it changed put back, with a log line.
 */

function staged(id: ResourceId, record: string): [EnqueueItem[], Array<{ kind: null; id: string; snapshot: { version: number; fingerprint: string; json: string } }>] {
  const envelope = { id: `ev-${id.resource}-${record}`, type: "item.created", source: id.source, resource: id.resource, kind: null, record_id: record, detected_at: "2026-11-23T10:00:00.000Z", data: { object: { id: record } } };
  return [[{ event: { envelope, body: JSON.stringify(envelope) }, recordKey: `${id.source}/${id.resource}/\u001f${record}`, targets: ["t"] }], [{ kind: null, id: record, snapshot: { version: 1, fingerprint: "f", json: `{"id":"${record}"}` } }]];
}

const config = (url: string, resources: string[], cluster?: { lease: string; replica_id: string }) =>
  parseConfig(
    stringify({
      state: { url },
      ...(cluster ? { cluster } : {}),
      sources: [{ name: "legacy", type: "rest", base_url: "http://127.0.0.1:9", resources: resources.map((name) => ({ name, path: `/${name}`, type_prefix: "item" })) }],
      targets: [{ name: "t", url: "http://127.0.0.1:9/hook" }],
    }),
    { path: "/test/config.yaml", env: {} },
  );

async function stageKilledPasses(store: StateStore, ids: ResourceId[]): Promise<void> {
  for (const id of ids) await store.commitPage(id, ...staged(id, "1"), true);
}

describe("staging of a resource removed from the config", () => {
  it("is dropped at start with a log line, its snapshots put back; a configured resource's staging stays for its next pass", async () => {
    const url = `sqlite://${join(tempDir(), "state.sqlite")}`;
    const items = { source: "legacy", resource: "items" };
    const gone = { source: "legacy", resource: "gone" };
    const oldSource = { source: "old", resource: "things" };
    const store = await openStateStore(url);
    await stageKilledPasses(store, [items, gone, oldSource]);
    expect((await store.stagedResources()).map((id) => `${id.source}/${id.resource}`).sort()).toEqual(["legacy/gone", "legacy/items", "old/things"]);
    await store.close();

    const lines: string[] = [];
    const logger = createLogger({ level: "info", format: "json", destination: { write: (line: string) => lines.push(line) } });
    // A read-only open (`once --dry-run`) drops nothing.
    const dry = await openApp(config(url, ["items"]), { logger, readOnly: true });
    expect(await dry.store.stagedResources()).toHaveLength(3);
    await dry.close();
    const app = await openApp(config(url, ["items"]), { logger });
    try {
      expect((await app.store.stagedResources()).map((id) => `${id.source}/${id.resource}`)).toEqual(["legacy/items"]);
      expect((await app.store.getSnapshots(gone, [{ kind: null, id: "1" }])).size).toBe(0);
      expect((await app.store.getSnapshots(items, [{ kind: null, id: "1" }])).size).toBe(1);
      expect(await app.store.listPending()).toEqual([]);
      // Counted too, by resource and reason (the configured resource's staging is not).
      const dropped = await app.metrics.registry.getSingleMetricAsString("retrohook_events_dropped_total");
      expect(dropped).toContain('retrohook_events_dropped_total{source="legacy",resource="gone",reason="resource-removed"} 1');
      expect(dropped).toContain('retrohook_events_dropped_total{source="old",resource="things",reason="resource-removed"} 1');
      expect(dropped).not.toContain('resource="items"');
    } finally {
      await app.close();
    }
    const messages = lines.map((line) => JSON.parse(line) as { msg: string; level: number | string; dropped?: number }).filter((l) => /no longer configured/.test(l.msg));
    expect(messages.map((m) => m.msg).sort()).toEqual([
      "resource legacy/gone is no longer configured: the 1 events a pass of it staged and never released were dropped, and the snapshots it changed put back",
      "resource old/things is no longer configured: the 1 events a pass of it staged and never released were dropped, and the snapshots it changed put back",
    ]);
  });

  it("on replicas, is left to the replica holding the source's lease (it may still run the old config), and dropped once no other replica holds it", async () => {
    const url = pgServer().freshUrl();
    const gone = { source: "legacy", resource: "gone" };
    const oldSource = { source: "old", resource: "things" };
    // Replica B, still on the old config, holds the lease of `legacy` and has a pass of legacy/gone in flight.
    const b = await openStateStore(url, { replica: true, replicaId: "B", leaseMs: 60_000 });
    const held = await b.cluster!.acquire("B", ["legacy"], 60_000);
    await stageKilledPasses(b, [gone, oldSource]);
    const lines: string[] = [];
    const logger = createLogger({ level: "info", format: "json", destination: { write: (line: string) => lines.push(line) } });
    const onNewConfig = config(url, ["items"], { lease: "60s", replica_id: "A" });
    let app = await openApp(onNewConfig, { logger, replica: true });
    try {
      // On the code before: legacy/gone's staging was dropped under B's running pass.
      expect((await app.store.stagedResources()).map((id) => `${id.source}/${id.resource}`)).toEqual(["legacy/gone"]);
      expect((await app.store.getSnapshots(gone, [{ kind: null, id: "1" }])).size).toBe(1);
    } finally {
      await app.close();
    }
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg).filter((msg) => /no longer configured/.test(msg))).toEqual([
      "resource legacy/gone is no longer configured here, but replica B holds the lease of source legacy: what a pass of it staged is left to that replica (judged again at the next start)",
      "resource old/things is no longer configured: the 1 events a pass of it staged and never released were dropped, and the snapshots it changed put back",
    ]);
    // B stops (its lease ends): the next start drops it.
    await b.cluster!.release("B", [...held].map(([source, grant]) => ({ source, token: grant.token })));
    await b.close();
    app = await openApp(onNewConfig, { logger, replica: true });
    try {
      expect(await app.store.stagedResources()).toEqual([]);
      expect((await app.store.getSnapshots(gone, [{ kind: null, id: "1" }])).size).toBe(0);
    } finally {
      await app.close();
    }
  });
});
