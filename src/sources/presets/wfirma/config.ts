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
export const SECRET_KEYS = ["access_key", "secret_key", "app_key", "oauth_token", "oauth_refresh_token", "client_id", "client_secret"] as const;

const WFIRMA_KEYS = ["access_key", "secret_key", "app_key"] as const;
const OAUTH_CLIENT = ["client_id", "client_secret"] as const;

export const wfirmaSource = strictObject({
  ...sourceCommonShape("Europe/Warsaw"),
  preset: z.literal("wfirma").describe("wFirma."),
  access_key: secret("API access key (with secret_key and app_key; or use oauth_token).", "access_key").optional(),
  access_key_file: secretFile("access_key"),
  secret_key: secret("API secret key.", "secret_key").optional(),
  secret_key_file: secretFile("secret_key"),
  app_key: secret("Application key.", "app_key").optional(),
  app_key_file: secretFile("app_key"),
  oauth_token: secret("OAuth 2 access token, instead of the three keys. Alone it is used until wFirma refuses it; with oauth_refresh_token it is the first one used.", "oauth_token").optional(),
  oauth_token_file: secretFile("oauth_token"),
  oauth_refresh_token: secret(
    "OAuth 2 refresh token (with client_id and client_secret), instead of the three keys: access tokens are fetched with it and renewed before they expire. A refresh token wFirma rotates is kept in the state store (never in logs), so a restart does not use the spent one; a new one given here replaces it.",
    "oauth_refresh_token",
  ).optional(),
  oauth_refresh_token_file: secretFile("oauth_refresh_token"),
  client_id: secret("OAuth 2 client id of the wFirma application (with oauth_refresh_token).", "client_id").optional(),
  client_id_file: secretFile("client_id"),
  client_secret: secret("OAuth 2 client secret of the wFirma application (with oauth_refresh_token).", "client_secret").optional(),
  client_secret_file: secretFile("client_secret"),
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
    const oauth = source.oauth_token !== undefined || source.oauth_refresh_token !== undefined;
    const client = OAUTH_CLIENT.filter((key) => source[key] !== undefined);
    if (source.oauth_refresh_token !== undefined) {
      for (const key of OAUTH_CLIENT) if (source[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: `required with oauth_refresh_token (or ${key}_file): wFirma refreshes a token for the application it was issued to` });
    } else if (client.length > 0) {
      ctx.addIssue({ code: "custom", path: [client[0]!], message: `${client.join(" and ")} only serve oauth_refresh_token, which is missing` });
    }
    if (oauth && given.length > 0) {
      ctx.addIssue({ code: "custom", path: [source.oauth_token !== undefined ? "oauth_token" : "oauth_refresh_token"], message: `give either OAuth 2 (oauth_token / oauth_refresh_token) or ${WFIRMA_KEYS.join(" + ")}, not both` });
    } else if (!oauth && given.length === 0) {
      ctx.addIssue({ code: "custom", path: [], message: `needs credentials: access_key, secret_key and app_key, or oauth_refresh_token with client_id and client_secret, or oauth_token` });
    } else if (!oauth) {
      for (const key of WFIRMA_KEYS) {
        if (source[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: `required with ${given.join(", ")} (or ${key}_file)` });
      }
    }
  })
  .transform((source) => ({ ...withoutFileKeys(source), resources: inheritStart(source.resources, source.start) }))
  .describe("A wFirma company; auth by access_key + secret_key + app_key, or OAuth 2 (oauth_refresh_token + client_id + client_secret, or an oauth_token alone).");

export type WfirmaSourceConfig = z.output<typeof wfirmaSource>;
