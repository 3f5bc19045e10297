import { describe, expect, it } from "vitest";
import { renderStatus } from "../../src/cli/commands/status.js";
import type { ResourceView, SourceView, StatusView } from "../../src/server/read-model.js";

const resource = (overrides: Partial<ResourceView>): ResourceView => ({
  name: "invoices",
  cursor: null,
  cursorText: null,
  initialized: true,
  records: 3,
  lastPassAt: null,
  lastReconcileAt: null,
  lastError: null,
  suspended: null,
  heldDeletions: null,
  awaitingConfirmation: 0,
  waiting: null,
  ...overrides,
});

describe("retrohook status (table)", () => {
  it("names the command that lifts each suspension", () => {
    const source = {
      name: "erp",
      type: "facturascripts",
      schedule: "*/1 * * * *",
      reconcile: "0 */6 * * *",
      timezone: "UTC",
      health: "suspended",
      lastPassAt: null,
      lastError: null,
      nextPass: null,
      running: null,
      suspended: { at: "2026-11-23T10:00:00.000Z", reason: "HTTP 401", nextProbeAt: "2026-11-23T11:00:00.000Z" },
      backoff: null,
      budget: null,
      facts: [],
      resources: [resource({ name: "payments", suspended: { at: "2026-11-23T09:00:00.000Z", reason: "HTTP 403", nextProbeAt: "2026-11-23T10:00:00.000Z" } }), resource({})],
    } as unknown as SourceView;
    const view: StatusView = { generatedAt: "2026-11-23T10:05:00.000Z", daemon: false, sources: [source], targets: [] };
    const text = renderStatus(view);
    expect(text).toMatch(/^erp\s.*since 2026-11-23T10:00:00\.000Z, next probe 2026-11-23T11:00:00\.000Z \(lift: retrohook resume --source erp\)/m);
    expect(text).toMatch(/^\s+payments\s.*since 2026-11-23T09:00:00\.000Z, next probe 2026-11-23T10:00:00\.000Z \(lift: retrohook resume --source erp --resource payments\)/m);
    expect(text).toMatch(/^\s+invoices\s(?!.*lift:)/m);
  });
});
