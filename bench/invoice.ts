/**
 * The benchmark's record: an invoice of about 1 KB with 20 top-level fields, a nested buyer and
 * three nested lines. Built from (id, rev, updatedAt) alone, so the fake API keeps only numbers
 * per record and any page can be rebuilt after a change.
 */

export interface InvoiceLine {
  name: string;
  quantity: number;
  unit: string;
  price_net: string;
  tax: number;
  total_gross: string;
}

export interface Invoice {
  id: number;
  number: string;
  kind: string;
  status: string;
  issue_date: string;
  sell_date: string;
  payment_to: string;
  currency: string;
  price_net: string;
  price_tax: string;
  price_gross: string;
  paid: string;
  buyer: { name: string; tax_no: string; street: string; city: string; post_code: string; country: string; email: string };
  seller_name: string;
  description: string;
  lines: InvoiceLine[];
  rev: number;
  created_at: string;
  updated_at: string;
  internal_note: string;
}

const CITIES = ["Warszawa", "Kraków", "Gdańsk", "Wrocław", "Poznań", "Łódź", "Szczecin", "Lublin"];
const PRODUCTS = ["Consulting hours", "Software licence", "Support plan", "Hosting (monthly)", "Training day", "Hardware rental"];

const money = (cents: number): string => (cents / 100).toFixed(2);

export function invoice(id: number, rev: number, createdAt: number, updatedAt: number): Invoice {
  const lines: InvoiceLine[] = [];
  let net = 0;
  for (let i = 0; i < 3; i += 1) {
    const quantity = 1 + ((id + i) % 7);
    const unitCents = 1_000 + ((id * 37 + i * 101 + rev * 13) % 90_000);
    net += quantity * unitCents;
    lines.push({
      name: PRODUCTS[(id + i) % PRODUCTS.length]!,
      quantity,
      unit: i === 0 ? "h" : "pcs",
      price_net: money(unitCents),
      tax: 23,
      total_gross: money(Math.round(quantity * unitCents * 1.23)),
    });
  }
  const tax = Math.round(net * 0.23);
  const issue = new Date(createdAt).toISOString().slice(0, 10);
  return {
    id,
    number: `FV/2026/${String(1 + (id % 12)).padStart(2, "0")}/${String(id).padStart(6, "0")}`,
    kind: "vat",
    status: rev % 2 === 0 ? "paid" : "issued",
    issue_date: issue,
    sell_date: issue,
    payment_to: new Date(createdAt + 14 * 86_400_000).toISOString().slice(0, 10),
    currency: "PLN",
    price_net: money(net),
    price_tax: money(tax),
    price_gross: money(net + tax),
    paid: rev % 2 === 0 ? money(net + tax) : "0.00",
    buyer: {
      name: `Buyer ${id % 5_000} sp. z o.o.`,
      tax_no: String(5_260_000_000 + (id % 999_999)),
      street: `ul. Długa ${1 + (id % 200)}`,
      city: CITIES[id % CITIES.length]!,
      post_code: `${String(10 + (id % 89))}-${String(100 + (id % 899))}`,
      country: "PL",
      email: `accounts${id % 5_000}@buyer.example`,
    },
    seller_name: "Retrohook Benchmarks S.A.",
    description: `Invoice ${id} for services rendered, revision ${rev}.`,
    lines,
    rev,
    created_at: new Date(createdAt).toISOString(),
    updated_at: new Date(updatedAt).toISOString(),
    internal_note: "",
  };
}
