import { randomBytes } from "node:crypto";
import type { Config, TargetConfig } from "../../config/types.js";
import { renderBody } from "../../core/formats/index.js";
import { applyTargetExpressions, targetAccepts, type TargetVerdict } from "../../core/routing.js";
import { sampleEnvelope } from "../../core/sample-event.js";
import type { EventEnvelope } from "../../core/types.js";
import { StateError } from "../../errors.js";
import { openStateStore } from "../../store/open.js";

/**
 * `retrohook test-target NAME --event ID | --sample TYPE`: what the target would get for an
 * event — whether its `events`/`sources` take it, its filter's verdict, and the body (its
 * transform's, or its format's) — before anything is sent.
 */

export interface TargetPreview {
  envelope: EventEnvelope;
  subscribed: boolean;
  verdict: TargetVerdict;
  /** The body that would be sent, when the verdict is `deliver`. */
  body?: string;
}

/** A fresh test id: the receiver's deduplication by webhook-id must not swallow the real delivery later. */
export const testEventId = (): string => `evt_test_${randomBytes(12).toString("hex")}`;

/** The stored event `eventId` (state read from a copy: the daemon may hold the lock), under a test id. */
export async function storedEventForPreview(config: Config, eventId: string): Promise<EventEnvelope> {
  const store = await openStateStore(config.state.url, { readOnly: true });
  try {
    const event = await store.getEvent(eventId);
    if (!event) throw new StateError(`no event ${eventId} in state`);
    return { ...event.envelope, id: testEventId() };
  } finally {
    await store.close();
  }
}

export function sampleForPreview(config: Config, target: TargetConfig, type: string, now: number): EventEnvelope {
  const source = target.sources?.[0] ?? config.sources[0]?.name ?? "retrohook";
  return sampleEnvelope(type, source, now, testEventId());
}

export async function previewTarget(target: TargetConfig, envelope: EventEnvelope): Promise<TargetPreview> {
  const subscribed = targetAccepts(target, envelope);
  const verdict = await applyTargetExpressions(target, envelope);
  if (verdict.outcome !== "deliver") return { envelope, subscribed, verdict };
  const body = renderBody(target.format, { envelope, body: JSON.stringify(envelope), ...(verdict.body ? { fixed: verdict.body } : {}) }, target).body;
  return { envelope, subscribed, verdict, body };
}

/** The preview as the command prints it (stdout). */
export function describePreview(target: TargetConfig, preview: TargetPreview): string {
  const { envelope, verdict } = preview;
  const lines = [`${target.name}: event ${envelope.id} (${envelope.type} from ${envelope.source})`];
  lines.push(preview.subscribed ? "  subscribed: yes" : `  subscribed: no — its events/sources do not take ${envelope.type} from ${envelope.source}; a real event would not be routed here`);
  if (!target.filter) lines.push("  filter: none");
  else if (verdict.outcome === "filtered") lines.push(`  filter (${target.filter.label}): filtered out — nothing would be sent`);
  else if (verdict.outcome === "failed" && verdict.step === "filter") lines.push(`  filter: FAILS — ${verdict.reason}`);
  else lines.push(`  filter (${target.filter.label}): passes`);
  if (verdict.outcome === "failed" && verdict.step === "transform") lines.push(`  transform: FAILS — ${verdict.reason}`);
  if (preview.body !== undefined) lines.push(`  body (${target.transform ? `transform ${target.transform.label}` : `format ${target.format}`}):`, `  ${preview.body}`);
  return `${lines.join("\n")}\n`;
}
