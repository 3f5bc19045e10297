import type { KeyObject } from "node:crypto";
import type { TargetConfig } from "../config/types.js";
import { renderBody } from "../core/formats/index.js";
import { standardWebhookHeaders } from "../core/sign.js";
import type { StoredEvent } from "../store/store.js";
import type { OutgoingMessage } from "./types.js";

/**
 * The target's format of the event with this attempt's Standard Webhooks headers, signed at
 * `nowMs` (wall clock: receivers reject stale timestamps). The same for every transport.
 */
export function signedMessage(target: TargetConfig, key: KeyObject | undefined, event: StoredEvent, nowMs: number): OutgoingMessage {
  const rendered = renderBody(target.format, event, target);
  const timestamp = Math.floor(nowMs / 1000);
  return {
    event,
    body: rendered.body,
    contentType: rendered.contentType,
    headers: {
      "content-type": rendered.contentType,
      ...rendered.extraHeaders,
      ...standardWebhookHeaders(event.envelope.id, timestamp, rendered.body, key),
    },
  };
}
