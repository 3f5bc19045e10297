/**
 * The `preset: fakturoid` source in the config file: its keys, their documentation (`.describe()`
 * texts), the resources it supports and its secret keys (each may be given as `K_file`).
 */
import { z } from "zod";
import { inheritStart, secret, secretFile, strictObject, withoutFileKeys } from "../../../config/fields.js";
import { PRESET_RESOURCE_KEYS, presetResources, sourceCommonShape } from "../../../config/source-shape.js";

/** Canonical resources, in a stable order (the default `resources:`). */
export const RESOURCES = ["invoices", "cost_invoices", "clients", "products", "warehouse_documents"] as const;

/** Keys `K` that may be given as `K_file`. */
export const SECRET_KEYS = ["client_id", "client_secret"] as const;

export const fakturoidSource = strictObject({
  ...sourceCommonShape("UTC"),
  preset: z.literal("fakturoid").describe("Fakturoid (API v3)."),
  account: z
    .string()
    .regex(/^[a-z0-9_-]+$/, { message: "expected the account slug (lower case letters, digits, _ and -)" })
    .describe("Account slug, as in https://app.fakturoid.cz/<slug>."),
  client_id: secret("OAuth2 client id (client credentials flow).", "client_id"),
  client_id_file: secretFile("client_id"),
  client_secret: secret("OAuth2 client secret.", "client_secret"),
  client_secret_file: secretFile("client_secret"),
  user_agent: z
    .string()
    .regex(/^\S.*\s\([^\s()@]+@[^\s()@]+\.[^\s()@]+\)$/, { message: 'must look like "AppName (you@example.com)", as Fakturoid requires' })
    .describe('User-Agent Fakturoid requires: "AppName (contact@email)".'),
  resources: presetResources("fakturoid", RESOURCES),
}, undefined, PRESET_RESOURCE_KEYS)
  .transform((source) => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A Fakturoid account; free plans allow ~1,500 requests a month: set a `budget`.");

export type FakturoidSourceConfig = z.output<typeof fakturoidSource>;
