import type { FakturowniaFake } from "../simulators/fakturownia/fake.js";

type Step = (fake: FakturowniaFake) => string | undefined;

const today = (): string => new Date().toISOString().slice(0, 10);
const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
const ids = (fake: FakturowniaFake, resource: "invoices" | "cost_invoices"): Array<Record<string, unknown>> => fake.all(resource);

/**
 * A bookkeeper at work in the simulated Fakturownia account: new cost invoices (which
 * Fakturownia never announces), edits, payments, warehouse documents and deletions.
 */
const STEPS: Step[] = [
  (fake) => {
    const invoice = fake.create("cost_invoices", { issue_date: today(), price_gross: (100 + Math.round(Math.random() * 2000)).toFixed(2), seller_name: pick(["Hurtownia Nowak", "Biuro Plus", "Energa"]) });
    return `bookkeeper: new cost invoice #${String(invoice.id)}`;
  },
  (fake) => {
    const invoice = pick(ids(fake, "cost_invoices").filter((i) => i.status !== "paid"));
    if (!invoice) return undefined;
    fake.addPayment(Number(invoice.id), String(invoice.price_gross));
    return `bookkeeper: paid cost invoice #${String(invoice.id)}`;
  },
  (fake) => {
    const invoice = pick(ids(fake, "invoices"));
    if (!invoice) return undefined;
    fake.update("invoices", Number(invoice.id), { description: `Updated ${new Date().toISOString().slice(11, 19)}` });
    return `bookkeeper: edited invoice #${String(invoice.id)}`;
  },
  (fake) => {
    const doc = fake.create("warehouse_documents", { kind: pick(["pz", "wz"]), issue_date: today() });
    return `warehouse: new document #${String(doc.id)}`;
  },
  (fake) => {
    const invoice = pick(ids(fake, "cost_invoices").filter((i) => i.status !== "paid"));
    if (!invoice) return undefined;
    fake.remove("cost_invoices", Number(invoice.id));
    return `bookkeeper: deleted cost invoice #${String(invoice.id)} (found by the next reconcile)`;
  },
];

export function simulateStep(fake: FakturowniaFake): string | undefined {
  const weights = [3, 2, 2, 2, 1];
  let roll = Math.random() * weights.reduce((a, b) => a + b, 0);
  for (const [index, weight] of weights.entries()) {
    roll -= weight;
    if (roll <= 0) return STEPS[index]!(fake);
  }
  return undefined;
}

export function seedDemo(fake: FakturowniaFake): void {
  for (let i = 0; i < 3; i += 1) fake.create("invoices", { issue_date: today(), buyer_name: pick(["Kowalski sp. z o.o.", "ACME S.A.", "Zielony Sklep"]) });
  for (let i = 0; i < 3; i += 1) fake.create("cost_invoices", { issue_date: today(), seller_name: "Hurtownia Nowak" });
}
