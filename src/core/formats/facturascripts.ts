import { facturascriptsSignature } from "../sign.js";
import type { RenderableEvent, RenderedBody, FormatTarget } from "./types.js";

/**
 * The body FacturaScripts webhook plugins commonly use: `{id, event, created, data: {object}}`
 * with `created` in Unix seconds of `detected_at`, plus `X-Webhook-Signature` (hex HMAC-SHA256 of
 * the body) when the target has a secret.
 */
export function renderFacturaScripts(event: RenderableEvent, target: FormatTarget): RenderedBody {
  const envelope = event.envelope;
  const body = JSON.stringify({
    id: envelope.id,
    event: envelope.type,
    created: Math.floor(Date.parse(envelope.detected_at) / 1000),
    data: { object: envelope.data.object },
  });
  const extraHeaders: Record<string, string> = {};
  if (target.secret) extraHeaders["x-webhook-signature"] = facturascriptsSignature(body, target.secret);
  return { body, contentType: "application/json", extraHeaders };
}
