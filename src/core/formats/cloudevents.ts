import type { JsonObject } from "../types.js";
import type { RenderableEvent, RenderedBody } from "./types.js";

/**
 * CloudEvents 1.0, structured mode. `subject` is omitted for events without a record
 * (`retrohook.test`): CloudEvents attributes are never null.
 */
export function renderCloudEvents(event: RenderableEvent): RenderedBody {
  const envelope = event.envelope;
  const cloudEvent: JsonObject = {
    specversion: "1.0",
    id: envelope.id,
    type: `com.retrohook.${envelope.type}`,
    source: `retrohook/${envelope.source}`,
  };
  if (envelope.record_id !== null) cloudEvent.subject = envelope.record_id;
  cloudEvent.time = envelope.detected_at;
  cloudEvent.datacontenttype = "application/json";
  cloudEvent.data = envelope.data as unknown as JsonObject;
  return { body: JSON.stringify(cloudEvent), contentType: "application/cloudevents+json", extraHeaders: {} };
}
