/** The canonical resource names (README, "Events") and their singular event prefixes. */
export const CANONICAL_RESOURCES = {
  invoices: "invoice",
  cost_invoices: "cost_invoice",
  warehouse_documents: "warehouse_document",
  clients: "client",
  products: "product",
  payments: "payment",
} as const;

export type CanonicalResource = keyof typeof CANONICAL_RESOURCES;

export const BUILT_IN_EVENTS = ["created", "updated", "deleted", "paid"] as const;

/** `cost_invoices` → `cost_invoice`; other resources use `type_prefix` or their name unchanged. */
export function typePrefixFor(resource: string, typePrefix?: string): string {
  if (typePrefix) return typePrefix;
  return (CANONICAL_RESOURCES as Record<string, string>)[resource] ?? resource;
}

/** Invoices and cost invoices: the canonical resources whose records get paid (the presets' `paid` events). */
export function isInvoiceResource(resource: string): boolean {
  return resource === "invoices" || resource === "cost_invoices";
}
