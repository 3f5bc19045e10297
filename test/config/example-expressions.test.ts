import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { applyTargetExpressions } from "../../src/core/routing.js";
import { sampleEnvelope } from "../../src/core/sample-event.js";

/** The filter and transform examples do what their comments say, on an invoice-like event. */

const ROOT = join(import.meta.dirname, "../..");
const env = { FAKTUROWNIA_API_TOKEN: "t", SLACK_WEBHOOK_PATH: "T0/B0/x", ERP_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" };
const load = (file: string) => parseConfig(readFileSync(join(ROOT, "examples", file), "utf8"), { path: join(ROOT, "examples", file), env });
const target = (file: string, name: string) => load(file).targets.find((t) => t.name === name)!;
const NOW = Date.parse("2026-11-23T10:00:00.000Z");

describe("examples with filters and transforms", () => {
  it("slack-paid-invoices: a Slack message for a paid invoice", async () => {
    const verdict = await applyTargetExpressions(target("slack-paid-invoices.yaml", "slack"), sampleEnvelope("invoice.paid", "fakturownia", NOW, "evt_1"));
    expect(verdict.outcome === "deliver" && JSON.parse(verdict.body!)).toEqual({ text: ":moneybag: Invoice FV 1/2026 paid — 12300.00 PLN by Buyer S.A.", unfurl_links: false });
  });

  it("large-cost-invoices: only PLN cost invoices above 10,000 pass", async () => {
    const approvals = target("large-cost-invoices.yaml", "approvals");
    const event = sampleEnvelope("cost_invoice.created", "fakturownia", NOW, "evt_1");
    expect(await applyTargetExpressions(approvals, event)).toEqual({ outcome: "deliver" });
    event.data.object.price_gross = "9999.99";
    expect(await applyTargetExpressions(approvals, event)).toEqual({ outcome: "filtered" });
    event.data.object.price_gross = "20000.00";
    event.data.object.currency = "EUR";
    expect(await applyTargetExpressions(approvals, event)).toEqual({ outcome: "filtered" });
  });

  it("erp-flat-import: one flat object per document", async () => {
    const verdict = await applyTargetExpressions(target("erp-flat-import.yaml", "erp"), sampleEnvelope("cost_invoice.paid", "fakturownia", NOW, "evt_1"));
    expect(verdict.outcome === "deliver" && JSON.parse(verdict.body!)).toEqual({
      doc_id: "fakturownia-1001",
      action: "paid",
      doc_number: "FV 1/2026",
      supplier: "Seller sp. z o.o.",
      supplier_tax_id: "5252445767",
      issued_on: "2026-11-23",
      due_on: "2026-11-23",
      net: 10000,
      gross: 12300,
      currency: "PLN",
      paid: true,
      changed: ["status", "paid"],
      event_id: "evt_1",
    });
  });
});
