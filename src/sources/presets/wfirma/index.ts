import { isInvoiceResource } from "../../../core/naming.js";
import type { Transition } from "../../../core/transitions.js";
import type { SourceDeps } from "../../deps.js";
import { httpSource, type Source } from "../../source.js";
import { wfirmaSource, RESOURCES, SECRET_KEYS, type WfirmaSourceConfig } from "./config.js";
import { definePreset, resourcePart } from "../spec.js";
import { WfirmaApi, type WfirmaModuleSpec } from "./api.js";
import { WfirmaPoller } from "./poller.js";
import { WfirmaTokens } from "./token.js";

/** The `warehouse_document_*` modules, one per document type (PZ, WZ, RW, PW, ZD, ZPD, ZPM, R). */
export const WFIRMA_WAREHOUSE_MODULES = ["p_z", "w_z", "r_w", "p_w", "z_d", "z_p_d", "z_p_m", "r"].map((type) => `warehouse_document_${type}`);

const plain = (module: string, singular: string): WfirmaModuleSpec[] => [{ module, branch: module, singular }];

/** Canonical resources → wFirma modules. */
const MODULES: Record<string, WfirmaModuleSpec[]> = {
  invoices: [{ module: "invoices", branch: "invoices", singular: "invoice", paidBy: "invoice" }],
  cost_invoices: [{ module: "expenses", branch: "expenses", singular: "expense", paidBy: "expense" }],
  payments: plain("payments", "payment"),
  clients: plain("contractors", "contractor"),
  products: plain("goods", "good"),
  warehouse_documents: WFIRMA_WAREHOUSE_MODULES.map((module) => ({ module, branch: "warehouse_documents", singular: "warehouse_document" })),
};


/** Paid: `paymentstate` becomes `paid`, or `remaining` reaches 0 (numeric strings compare as numbers). */
const PAID: Transition[] = [{ event: "paid", anyOf: [{ field: "paymentstate", to: "paid" }, { field: "remaining", to: 0 }] }];

/**
 * Requests an idle incremental pass costs: one `find` per module (warehouse documents: eight),
 * plus one `payments/find` for each module that payments pay (invoices, expenses).
 */
export function wfirmaIdlePassCost(config: Pick<WfirmaSourceConfig, "resources">): number {
  return config.resources.reduce((sum, resource) => sum + (MODULES[resource.name] ?? [{ paidBy: undefined }]).reduce((n, spec) => n + (spec.paidBy ? 2 : 1), 0), 0);
}

/** `https://api2.wfirma.pl`, or `base_url` without a trailing slash. */
export function wfirmaBaseUrl(config: Pick<WfirmaSourceConfig, "base_url">): string {
  return (config.base_url ?? "https://api2.wfirma.pl").replace(/\/+$/, "");
}

/**
 * wFirma (api2.wfirma.pl): `POST {module}/find?inputFormat=json&outputFormat=json&company_id=…`,
 * authenticated by the `accessKey` / `secretKey` / `appKey` headers, or by `Authorization:
 * Bearer` plus `oauth_version=2` (a token given, or fetched with a refresh token: token.ts).
 * Facts: docs/vendors/wfirma.md.
 */
export function createWfirmaSource(config: WfirmaSourceConfig, deps: SourceDeps): Source {
  const query: Record<string, string> = { inputFormat: "json", outputFormat: "json" };
  if (config.company_id) query.company_id = config.company_id;
  let headers: Record<string, string> = {};
  let tokens: WfirmaTokens | undefined;
  const tokenHttp = config.oauth_refresh_token ? deps.httpClient({ baseUrl: wfirmaBaseUrl(config) }) : undefined;
  if (config.oauth_refresh_token && tokenHttp) {
    query.oauth_version = "2";
    const oauth = { clientId: config.client_id ?? "", clientSecret: config.client_secret ?? "", refreshToken: config.oauth_refresh_token, ...(config.oauth_token ? { accessToken: config.oauth_token } : {}) };
    tokens = new WfirmaTokens(tokenHttp, oauth, deps.clock, deps.logger);
  } else if (config.oauth_token) {
    headers = { authorization: `Bearer ${config.oauth_token}` };
    query.oauth_version = "2";
  } else {
    headers = { accessKey: config.access_key ?? "", secretKey: config.secret_key ?? "", appKey: config.app_key ?? "" };
  }
  const http = deps.httpClient({ baseUrl: wfirmaBaseUrl(config), headers, query });
  const api = new WfirmaApi(http, deps.clock, deps.logger, tokens);
  return httpSource(
    config,
    http,
    (resource) => new WfirmaPoller(api, resource, resourcePart(MODULES, resource.name, `source ${config.name}: wfirma`), config, isInvoiceResource(resource.name) ? PAID : []),
    [tokenHttp],
  );
}

/** The `preset: wfirma` spec: config schema, resources, secret keys, idle-pass cost and the factory. */
export const wfirmaPreset = definePreset({
  name: "wfirma",
  schema: wfirmaSource,
  resources: RESOURCES,
  secretKeys: SECRET_KEYS,
  idlePassCost: wfirmaIdlePassCost,
  stamps: "wall",
  create: createWfirmaSource,
});
