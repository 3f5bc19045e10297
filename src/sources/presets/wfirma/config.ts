/**
 * The `preset: wfirma` source in the config file: its keys, their documentation (`.describe()`
 * texts), the resources it supports and its secret keys (each may be given as `K_file`).
 */
import { z } from "zod";
import { inheritStart, secret, secretFile, strictObject, withoutFileKeys } from "../../../config/fields.js";
import { PRESET_RESOURCE_KEYS, presetResources, sourceCommonShape } from "../../../config/source-shape.js";

/** Canonical resources, in a stable order (the default `resources:`). */
export const RESOURCES = ["invoices", "cost_invoices", "warehouse_documents", "payments", "clients", "products"] as const;

/** Keys `K` that may be given as `K_file`. */
export const SECRET_KEYS = ["access_key", "secret_key", "app_key", "oauth_token"] as const;

const WFIRMA_KEYS = ["access_key", "secret_key", "app_key"] as const;

export const wfirmaSource = strictObject({
  ...sourceCommonShape("Europe/Warsaw"),
  preset: z.literal("wfirma").describe("wFirma."),
  access_key: secret("API access key (with secret_key and app_key; or use oauth_token).", "access_key").optional(),
  access_key_file: secretFile("access_key"),
  secret_key: secret("API secret key.", "secret_key").optional(),
  secret_key_file: secretFile("secret_key"),
  app_key: secret("Application key.", "app_key").optional(),
  app_key_file: secretFile("app_key"),
  oauth_token: secret("OAuth 2 bearer token, instead of the three keys.", "oauth_token").optional(),
  oauth_token_file: secretFile("oauth_token"),
  company_id: z
    .union([z.string().regex(/^\d+$/, { message: "expected the numeric company id" }), z.number().int().positive()], {
      error: "expected the numeric company id",
    })
    .transform(String)
    .optional()
    .describe("Company id, when the user has several companies."),
  resources: presetResources("wfirma", RESOURCES),
}, undefined, PRESET_RESOURCE_KEYS)
  .superRefine((source, ctx) => {
    const given = WFIRMA_KEYS.filter((key) => source[key] !== undefined);
    if (source.oauth_token !== undefined && given.length > 0) {
      ctx.addIssue({ code: "custom", path: ["oauth_token"], message: `give either oauth_token or ${WFIRMA_KEYS.join(" + ")}, not both` });
    } else if (source.oauth_token === undefined && given.length === 0) {
      ctx.addIssue({ code: "custom", path: [], message: `needs credentials: access_key, secret_key and app_key, or oauth_token` });
    } else if (source.oauth_token === undefined) {
      for (const key of WFIRMA_KEYS) {
        if (source[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: `required with ${given.join(", ")} (or ${key}_file)` });
      }
    }
  })
  .transform((source) => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A wFirma company; auth by access_key + secret_key + app_key, or oauth_token.");

export type WfirmaSourceConfig = z.output<typeof wfirmaSource>;
