import type { Logger } from "../telemetry/logger.js";

/**
 * How far past a pass's start a time cursor may move: a vendor's clock may run a little ahead,
 * never more than the overlap (which re-reads it). A record stamped later than that (a typo,
 * `2099-01-01`) must not carry the cursor with it: every later incremental pass would ask for
 * changes after it and miss them all.
 */
export const FUTURE_TOLERANCE_MS = 60_000;

export class FutureStamps {
  readonly limit: number;
  private readonly ids: string[] = [];
  private latest = Number.NEGATIVE_INFINITY;

  constructor(passStart: number, overlapMs: number) {
    this.limit = passStart + Math.max(0, Math.min(FUTURE_TOLERANCE_MS, overlapMs));
  }

  /** The stamp as far as the cursor may take it; a stamp past the limit is remembered. */
  cap(value: number, recordId: string): number {
    if (value <= this.limit) return value;
    if (this.ids.length < 5 && !this.ids.includes(recordId)) this.ids.push(recordId);
    this.latest = Math.max(this.latest, value);
    return this.limit;
  }

  /** A stored cursor past the limit (left by an older version or a stamp since corrected). */
  stuck(cursor: number | undefined): boolean {
    return cursor !== undefined && cursor > this.limit;
  }

  /** One warning naming the records (logged, and for the pass's outcome), or none. */
  report(resource: string, field: string, logger: Logger, where = ""): string[] {
    if (this.ids.length === 0) return [];
    const warning = `resource ${resource}${where}: record ${this.ids.join(", ")} has "${field}" in the future (up to ${new Date(this.latest).toISOString()}); the cursor stays at the pass's start — fix the record at the vendor`;
    logger.warn({ resource, records: this.ids, field, latest: new Date(this.latest).toISOString() }, "record stamped in the future; cursor capped at the pass's start");
    return [warning];
  }
}

/** The warning for a stored cursor found in the future: this pass lists completely instead. */
export function stuckCursorWarning(resource: string, cursor: number, logger: Logger, where = ""): string {
  logger.warn({ resource, cursor: new Date(cursor).toISOString() }, "stored cursor is in the future; listing completely once to recover");
  return `resource ${resource}${where}: the stored cursor ${new Date(cursor).toISOString()} is in the future; this pass listed completely and the cursor moved back to the pass's start`;
}
