import type { RenderableEvent, RenderedBody, FormatTarget } from "./types.js";

/** Default `locale` of the `fakturownia` format, as the vendor's own webhooks send it. */
export const DEFAULT_FAKTUROWNIA_LOCALE = "pl";

/** The singular of an event type: everything before its last dot (`cost_invoice.paid` → `cost_invoice`). */
export function typeSingular(type: string): string {
  const dot = type.lastIndexOf(".");
  return dot > 0 ? type.slice(0, dot) : type;
}

/**
 * Fakturownia's native webhook body, `{<singular>: object, api_token, app_name, locale}`, so
 * receivers written for its webhooks also get what it never announces. `api_token` is the
 * target's own setting (empty when unset) — never a source's token.
 */
export function renderFakturownia(event: RenderableEvent, target: FormatTarget): RenderedBody {
  const body = JSON.stringify({
    [typeSingular(event.envelope.type)]: event.envelope.data.object,
    api_token: target.api_token ?? "",
    app_name: "fakturownia",
    locale: target.locale ?? DEFAULT_FAKTUROWNIA_LOCALE,
  });
  return { body, contentType: "application/json", extraHeaders: {} };
}
