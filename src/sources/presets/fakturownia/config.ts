/**
 * The `preset: fakturownia` source in the config file: its keys, their documentation (`.describe()`
 * texts), the resources it supports and its secret keys (each may be given as `K_file`).
 */
import { z } from "zod";
import { inheritStart, secret, secretFile, strictObject, withoutFileKeys } from "../../../config/fields.js";
import { PRESET_RESOURCE_KEYS, presetResources, sourceCommonShape } from "../../../config/source-shape.js";

/** Canonical resources, in a stable order (the default `resources:`). */
export const RESOURCES = ["invoices", "cost_invoices", "warehouse_documents", "payments", "clients", "products"] as const;

/** Keys `K` that may be given as `K_file`. */
export const SECRET_KEYS = ["api_token"] as const;

export const fakturowniaSource = strictObject({
  ...sourceCommonShape("UTC"),
  preset: z.literal("fakturownia").describe("Fakturownia (InvoiceOcean)."),
  domain: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, { message: "expected an account name (mycompany) or host (mycompany.fakturownia.pl), without https://; use base_url for a URL" })
    .optional()
    .describe("Account name (`mycompany`) or full host. Required unless `base_url` is given."),
  api_token: secret("Fakturownia API token.", "api_token"),
  api_token_file: secretFile("api_token"),
  resources: presetResources("fakturownia", RESOURCES),
}, undefined, PRESET_RESOURCE_KEYS)
  .superRefine((source, ctx) => {
    if (source.domain === undefined && source.base_url === undefined) {
      ctx.addIssue({ code: "custom", path: ["domain"], message: "required (or base_url)" });
    }
  })
  .transform((source) => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A Fakturownia account.");

export type FakturowniaSourceConfig = z.output<typeof fakturowniaSource>;
