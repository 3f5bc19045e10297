import { describe, expect, it } from "vitest";
import type { StateView } from "../../src/server/read-model.js";
import { restSourceYaml } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { startReceiver } from "../helpers/receiver.js";
import { closingAfterEach } from "../helpers/closing.js";
import { eventually, NEVER, startDaemon } from "./harness.js";

const closeLater = closingAfterEach();

describe("GET /api/state", () => {
  it("answers the backend, the retention in force and the entries and bytes per kind", async () => {
    const api = closeLater(await startFakeRest());
    const erp = closeLater(await startReceiver());
    api.create({ amount: "10.00" });
    api.create({ amount: "20.00" });
    const daemon = await startDaemon({
      state: { url: "sqlite://./state.sqlite", retention: { events: "10m" } },
      sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill" })],
      targets: [{ name: "erp", url: erp.url }],
    });
    closeLater({ close: () => daemon.stop() });
    await erp.waitFor(2);
    await eventually(async () => (await daemon.app.store.listPending()).length === 0, "every delivery settled");

    const answer = await daemon.api<StateView>("GET", "/api/state");
    expect(answer.status).toBe(200);
    expect(answer.body.backend).toBe("sqlite");
    expect(answer.body.retention).toEqual({ events: "10m", delivery_log: "7d", dead_letters: "90d" });
    const kinds = answer.body.sizes.kinds as Record<string, { count: number; bytes: number }>;
    const total = Object.values(kinds).reduce((sum, kind) => sum + kind.count, 0);
    expect(total).toBeGreaterThan(0);
    for (const kind of Object.values(kinds)) expect(kind.bytes >= 0 && (kind.count > 0 ? kind.bytes > 0 : kind.bytes === 0)).toBe(true);
    expect(answer.body.sizes.fileBytes).toBeGreaterThan(0);
  });
});
