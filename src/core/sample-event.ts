import { CANONICAL_RESOURCES } from "./naming.js";
import type { EventEnvelope, JsonObject } from "./types.js";

/**
 * A made-up event of a type, for `retrohook test-target NAME --sample TYPE`: shows what a
 * target's filter and transform do before a real event exists. The record looks like an
 * invoice (number, amounts, currency, status, parties, dates, positions), whatever the type.
 */
export function sampleEnvelope(type: string, source: string, now: number, id: string): EventEnvelope {
  const dot = type.lastIndexOf(".");
  const singular = dot > 0 ? type.slice(0, dot) : type;
  const event = dot > 0 ? type.slice(dot + 1) : "updated";
  const canonical = Object.entries(CANONICAL_RESOURCES).find(([, prefix]) => prefix === singular)?.[0];
  const detectedAt = new Date(now).toISOString();
  const object: JsonObject = {
    id: 1001,
    number: "FV 1/2026",
    kind: singular.includes("cost") ? "cost" : "vat",
    status: event === "paid" ? "paid" : "issued",
    currency: "PLN",
    price_net: "10000.00",
    price_tax: "2300.00",
    price_gross: "12300.00",
    paid: event === "paid" ? "12300.00" : "0.00",
    seller_name: "Seller sp. z o.o.",
    seller_tax_no: "5252445767",
    buyer_name: "Buyer S.A.",
    buyer_tax_no: "7010002137",
    issue_date: detectedAt.slice(0, 10),
    payment_to: detectedAt.slice(0, 10),
    positions: [{ name: "Consulting", quantity: "1", total_price_gross: "12300.00", tax: "23" }],
    updated_at: detectedAt,
  };
  const envelope: EventEnvelope = {
    id,
    type,
    source,
    resource: canonical ?? singular,
    kind: null,
    record_id: String(object.id),
    detected_at: detectedAt,
    data: { object },
  };
  if (event === "paid") envelope.data.previous = { status: "issued", paid: "0.00" };
  else if (event !== "created" && event !== "deleted") envelope.data.previous = { updated_at: new Date(now - 3_600_000).toISOString() };
  return envelope;
}
