import type { TargetConfig } from "../../config/types.js";
import type { EventEnvelope } from "../types.js";

/** An event as the outbox holds it: the envelope and its exact standard body, fixed at detection. */
export interface RenderableEvent {
  envelope: EventEnvelope;
  body: string;
  /** The body the target's transform built when the event was routed: sent as is, whatever the format. */
  fixed?: string;
}

/** What a format puts on the wire, besides the Standard Webhooks headers every format gets. */
export interface RenderedBody {
  body: string;
  contentType: string;
  extraHeaders: Record<string, string>;
}

/** The target settings a format may read. */
export type FormatTarget = Pick<TargetConfig, "secret" | "api_token" | "locale">;
