/**
 * What the admin API answers, as the daemon builds it: the UI is type-checked against the
 * server's own view types (type-only imports; nothing of the server is bundled).
 */
export type { DeadLetterView, LogEntryView, StatusView, TargetView } from "../../read-model.js";
export type { PassResult, RecordView, ReplayResult, TestResult } from "../../actions.js";
export type { ExplainResult } from "../../explain.js";
export type { SeriesView } from "../../../telemetry/series.js";
export type { ExplainAttempt, ExplainedEvent, TimelineItem } from "../../../core/explain.js";
import type { EventEnvelope } from "../../../core/types.js";
import type { DeadLetterView, LogEntryView } from "../../read-model.js";

/** GET /api/events/:id */
export interface EventDetail {
  event: EventEnvelope;
  deliveries: LogEntryView[];
  pending: Array<{ target: string; attempts: number; nextAttemptAt: string; lastError: string | null }>;
  deadLetters: DeadLetterView[];
}

/** A record as the delivery log and the dead letters name it. */
export interface RecordLink {
  source: string;
  resource: string;
  kind: string | null;
  id: string;
}
