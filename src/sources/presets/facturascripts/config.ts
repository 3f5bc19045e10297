/**
 * The `preset: facturascripts` source in the config file: its keys, their documentation (`.describe()`
 * texts), the resources it supports and its secret keys (each may be given as `K_file`).
 */
import { z } from "zod";
import { httpUrl, inheritStart, secret, secretFile, strictObject, withoutFileKeys } from "../../../config/fields.js";
import { PRESET_RESOURCE_KEYS, presetResources, sourceCommonShape } from "../../../config/source-shape.js";

/** Canonical resources, in a stable order (the default `resources:`). */
export const RESOURCES = ["invoices", "cost_invoices", "warehouse_documents", "payments", "clients", "products"] as const;

/** Keys `K` that may be given as `K_file`. */
export const SECRET_KEYS = ["token"] as const;

export const facturascriptsSource = strictObject({
  ...sourceCommonShape("UTC"),
  preset: z.literal("facturascripts").describe("FacturaScripts."),
  base_url: httpUrl().describe("Where FacturaScripts is installed (origin plus sub-path); `/api/3` is appended."),
  token: secret("FacturaScripts API key (sent as X-Auth-Token).", "token"),
  token_file: secretFile("token"),
  resources: presetResources("facturascripts", RESOURCES),
}, undefined, PRESET_RESOURCE_KEYS)
  .transform((source) => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A FacturaScripts installation.");

export type FacturaScriptsSourceConfig = z.output<typeof facturascriptsSource>;
