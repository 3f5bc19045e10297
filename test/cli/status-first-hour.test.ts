import { describe, expect, it } from "vitest";
import { renderStatus } from "../../src/cli/commands/status.js";
import { parseConfig } from "../../src/config/load.js";
import { closedBreaker } from "../../src/core/breaker.js";
import type { TargetStatus } from "../../src/delivery/dispatcher.js";
import { collectStatus, targetView } from "../../src/server/read-model.js";
import { MemoryStateStore } from "../helpers/memory-store.js";

/**
 * What `status` says in the first hour, from state as the pollers leave it: cursors in the
 * vendor's form (not epoch milliseconds), learned facts in words with what they cost and how to
 * retry, suspensions with the next automatic probe, and each target's breaker with its next probe.
 */
const NOW = Date.parse("2026-11-23T10:00:00.000Z");
const SECRET = "SECRET-abc123";
const config = parseConfig(
  `
sources:
  - name: erp
    preset: facturascripts
    base_url: "https://erp.example/"
    token: ${SECRET}
    reprobe: 30m
    resources: [invoices, clients]
  - { name: wf, preset: wfirma, oauth_token: ${SECRET}, company_id: 42, timezone: Europe/Warsaw, resources: [invoices] }
  - { name: fo, preset: fakturoid, account: acme, client_id: ${SECRET}, client_secret: ${SECRET}, user_agent: "Acme Sync (it@acme.cz)", timezone: Europe/Prague, resources: [invoices] }
  - name: shop
    type: rest
    base_url: "https://shop.example"
    timezone: Europe/Warsaw
    resources:
      - { name: wall, path: /orders, cursor: { field: modified, param: since, format: "YYYY-MM-DD HH:mm:ss" } }
      - { name: unix, path: /carts, cursor: { field: modified, param: since, format: unix } }
      - { name: iso, path: /items, cursor: { field: modified, param: since } }
      - { name: serial, path: /logs, cursor: { field: id, param: after, type: id } }
targets:
  - { name: crm, url: "https://crm.example/hooks" }
  - { name: erp-hook, url: "https://erp.example/hooks" }
`,
  { path: "/nonexistent/config.yaml", env: {} },
);
const STAMP = Date.parse("2026-11-23T09:15:30.000Z");

async function preparedStore(): Promise<MemoryStateStore> {
  const store = new MemoryStateStore({ now: () => NOW } as never);
  const resource = (source: string, name: string) => ({ source, resource: name });
  await store.putResourceState(resource("erp", "invoices"), { generation: "g1", initialized: true, cursor: { keys: { facturascli: 1042 }, logs: { FacturaCliente: 77 }, payments: {} } });
  await store.putResourceState(resource("erp", "clients"), { generation: "g1",
    initialized: true,
    suspended: { at: "2026-11-23T09:00:00.000Z", reason: "HTTP 403 on /clientes", configHash: "h", probedAt: "2026-11-23T09:40:00.000Z" },
  });
  await store.putSourceState("erp", { facts: { "facturascripts:no-logmessages-access": "2026-11-23T08:00:00.000Z" } });
  await store.putResourceState(resource("wf", "invoices"), { generation: "g1", initialized: true, cursor: { modified: { invoices: STAMP } } });
  await store.putSourceState("wf", { facts: { "wfirma:order-verified:invoices": "2026-11-23T08:30:00.000Z" } });
  await store.putResourceState(resource("fo", "invoices"), { generation: "g1", initialized: true, cursor: STAMP });
  await store.putResourceState(resource("shop", "wall"), { generation: "g1", initialized: true, cursor: STAMP });
  await store.putResourceState(resource("shop", "unix"), { generation: "g1", initialized: true, cursor: STAMP });
  await store.putResourceState(resource("shop", "iso"), { generation: "g1", initialized: true, cursor: STAMP });
  await store.putResourceState(resource("shop", "serial"), { generation: "g1", initialized: true, cursor: "90071992547409931" });
  return store;
}

describe("status in the first hour", () => {
  it("shows cursors as each vendor writes them, never as epoch milliseconds", async () => {
    const view = await collectStatus({ config, store: await preparedStore(), now: NOW });
    const cursor = (source: string, resource: string) => view.sources.find((s) => s.name === source)!.resources.find((r) => r.name === resource)!.cursorText;
    expect(cursor("wf", "invoices")).toBe("modified.invoices 2026-11-23 10:15:30"); // wFirma: zone-less, Warsaw
    expect(cursor("fo", "invoices")).toBe("2026-11-23T10:15:30+01:00"); // Fakturoid: ISO with the offset
    expect(cursor("shop", "wall")).toBe("2026-11-23 10:15:30");
    expect(cursor("shop", "unix")).toBe(String(STAMP / 1000));
    expect(cursor("shop", "iso")).toBe("2026-11-23T09:15:30.000Z");
    expect(cursor("shop", "serial")).toBe("90071992547409931");
    expect(cursor("erp", "invoices")).toBe("keys.facturascli 1042, logs.FacturaCliente 77");
    expect(cursor("erp", "clients")).toBeNull();
    const text = renderStatus(view);
    expect(text).not.toMatch(/\b\d{13}\b/);
    expect(text).toMatch(/^ {2}invoices\s+ok\s+modified\.invoices 2026-11-23 10:15:30\s/m);
    // The raw cursor stays in the JSON for tools.
    expect(view.sources.find((s) => s.name === "fo")!.resources[0]!.cursor).toBe(STAMP);
  });

  it("says what a learned fact means, since when, and how to try the feed again", async () => {
    const view = await collectStatus({ config, store: await preparedStore(), now: NOW });
    expect(view.sources.find((s) => s.name === "erp")!.facts).toEqual([
      { name: "facturascripts:no-logmessages-access", since: "2026-11-23T08:00:00.000Z", text: "no access to logmessages: updates and deletions via reconcile only" },
    ]);
    const text = renderStatus(view);
    expect(text).toContain(
      "  erp: no access to logmessages: updates and deletions via reconcile only (since 2026-11-23T08:00:00.000Z; tried again every reprobe, or at once with retrohook resume --source erp)",
    );
    expect(text).toContain("  wf: invoices: the vendor's sort is proven (a page showed it): incremental passes page back to the cursor (since 2026-11-23T08:30:00.000Z)");
    expect(text).not.toContain("facturascripts:no-logmessages-access");
  });

  it("shows a suspension's next automatic probe beside the command that lifts it", async () => {
    const view = await collectStatus({ config, store: await preparedStore(), now: NOW });
    const clients = view.sources[0]!.resources.find((r) => r.name === "clients")!;
    expect(clients.suspended?.nextProbeAt).toBe("2026-11-23T10:10:00.000Z"); // last refused 09:40 + reprobe 30m
    expect(renderStatus(view)).toMatch(/^ {2}clients\s+suspended\s.*since 2026-11-23T09:00:00\.000Z, next probe 2026-11-23T10:10:00\.000Z \(lift: retrohook resume --source erp --resource clients\)/m);
  });

  it("shows each target's breaker: closed, or open since when with its next probe", async () => {
    const store = await preparedStore();
    const input = { config, store, now: NOW };
    const live = (name: string, breaker: TargetStatus["breaker"]): TargetStatus => ({ name, pending: 0, inFlight: 0, breaker });
    const open: TargetStatus["breaker"] = { status: "open", consecutiveFailures: 5, failingSince: NOW - 600_000, openedAt: NOW - 300_000, reason: "HTTP 503", probeAt: NOW + 120_000, failedProbes: 1 };
    const targets = [await targetView(input, config.targets[0]!, live("crm", open)), await targetView(input, config.targets[1]!, live("erp-hook", closedBreaker()))];
    expect(targets[0]!.breaker).toMatchObject({ status: "open", openedAt: "2026-11-23T09:55:00.000Z", probeAt: "2026-11-23T10:02:00.000Z", failures: 5 });
    const text = renderStatus({ generatedAt: new Date(NOW).toISOString(), daemon: true, sources: [], targets });
    expect(text).toMatch(/^TARGET\s+STATUS\s+OUTBOX\s+OLDEST PENDING\s+DEAD LETTERS\s+PAUSED\s+BREAKER\s+LAST ATTEMPT/m);
    expect(text).toMatch(/^crm\s+failing\s.*open since 2026-11-23T09:55:00\.000Z, next probe 2026-11-23T10:02:00\.000Z \(5 failures\)\s+none yet/m);
    expect(text).toMatch(/^erp-hook\s+ok\s.*\s-\s+closed\s+none yet/m);
    // Without the daemon there is no breaker to show: `-`, not a guess.
    const fromFile = await collectStatus(input);
    expect(renderStatus(fromFile)).toMatch(/^crm\s+ok\s+0\s+-\s+0\s+-\s+-\s+none yet/m);
  });
});
