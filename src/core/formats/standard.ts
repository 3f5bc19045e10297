import type { RenderableEvent, RenderedBody } from "./types.js";

/** The default format: the stored standard body, byte for byte. */
export function renderStandard(event: RenderableEvent): RenderedBody {
  return { body: event.body, contentType: "application/json", extraHeaders: {} };
}
