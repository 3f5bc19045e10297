import type { TargetFormat } from "../../config/types.js";
import { renderCloudEvents } from "./cloudevents.js";
import { renderFacturaScripts } from "./facturascripts.js";
import { renderFakturownia } from "./fakturownia.js";
import { renderStandard } from "./standard.js";
import type { FormatTarget, RenderableEvent, RenderedBody } from "./types.js";

export type { FormatTarget, RenderableEvent, RenderedBody } from "./types.js";
export { typeSingular, DEFAULT_FAKTUROWNIA_LOCALE } from "./fakturownia.js";

/** The body of one event for one target. Deterministic: the same event and target give the same bytes. */
export function renderBody(format: TargetFormat, event: RenderableEvent, target: FormatTarget): RenderedBody {
  if (event.fixed) return { body: event.fixed, contentType: "application/json", extraHeaders: {} };
  switch (format) {
    case "standard":
      return renderStandard(event);
    case "cloudevents":
      return renderCloudEvents(event);
    case "fakturownia":
      return renderFakturownia(event, target);
    case "facturascripts":
      return renderFacturaScripts(event, target);
  }
}
