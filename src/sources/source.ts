import type { Clock } from "../clock.js";
import type { Transition } from "../core/transitions.js";
import type { RecordRef, RecordsOrigin, Snapshot, SourceRecord } from "../core/types.js";
import type { Logger } from "../telemetry/logger.js";
import type { HttpClient } from "./http/client.js";

/** One page (or several) of records, in the order the vendor listed them. */
export interface Batch {
  records: SourceRecord[];
  /** Deletions reported by a vendor change feed (FacturaScripts `logmessages`). */
  deleted?: RecordRef[];
  /**
   * Hash of everything `records` were built from (one response's bytes), set only when the
   * records come from it alone: the same digest under the same config means the same records,
   * so a page compared before need not be compared again (docs/decisions/0007-page-marks.md).
   */
  digest?: string;
  /** Set when the records are one response's array, untouched and in order (see RecordsOrigin). */
  origin?: RecordsOrigin;
}

export interface ListResult {
  /** The new cursor (opaque, owned by the poller); the old one when nothing newer was seen. */
  cursor: unknown;
  /** The listing covered every record (complete scan or fallback). */
  complete: boolean;
  /** Assumption checks that failed and made the poller fall back to a complete scan. */
  warnings: string[];
  /**
   * Why the listing's completeness is in doubt (a total count that disagrees…): the pipeline
   * then confirms no deletion by absence from it.
   */
  doubt?: string;
}

export interface PassContext {
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  /** Facts about the vendor account kept in state at once (a failed pass or a crash keeps them). */
  facts?: SourceFacts;
  /** Secrets the source must keep across restarts (a rotated OAuth refresh token); absent outside passes. */
  secrets?: SourceSecrets;
}

/**
 * Secrets a source learns from the vendor and must keep (a refresh token the vendor rotated: the
 * one in the config is spent). Kept in the source's state, never shown by `status`, the admin
 * API or logs, and kept by `retrohook reset`.
 */
export interface SourceSecrets {
  get(name: string): string | undefined;
  /** Stores the value before it resolves. */
  keep(name: string, value: string): Promise<void>;
}

export interface SourceFacts {
  has(name: string): boolean;
  /** Stores the fact before it resolves; learning it again renews when it was learned. */
  learn(name: string): Promise<void>;
  /** When the fact was learned (ms since epoch), undefined when not known. */
  learnedAt(name: string): number | undefined;
  /** The fact no longer holds (a denied feed answered again): removed from state before it resolves. */
  forget(name: string): Promise<void>;
}

export type ListMode = "incremental" | "complete";

/** A single-record check of a record missing from a complete listing (see `confirmGone`). */
export type GoneAnswer = "gone" | "exists" | "unknown" | "trashed";

/** Why a record missing twice is deleted although its detail GET still answers (the envelope's `data.reason`). */
export const TRASHED_REASON = "missing from two consecutive complete listings while its detail GET still answers 2xx (the vendor keeps deleted records in a trash)";

/**
 * What a poller relies on in the vendor's answers, for `retrohook doctor` to check live: the
 * field incremental passes follow, the list order it needs (and whether the vendor documents
 * it), the page size it asks for.
 */
export interface ResourceAssumptions {
  /** Dotted path of the field each record must carry (a change stamp or a serial key). */
  cursorField?: string;
  /** The order the walk relies on; absent when none is assumed. */
  order?: { field: string; direction: "asc" | "desc"; documented: boolean; then?: string };
  /** Records per page asked for; absent when the vendor decides. */
  pageSize?: number;
  /** What retrohook does when the order is not honoured. */
  orderFallback?: string;
  /** What retrohook does while an undocumented order is not proven by a page; default `orderFallback`. */
  orderUnproven?: string;
}

/** What detection and the delete guard take from a resource's config (see `pollerRules`). */
export interface PollerRules {
  /** Event type prefix (`cost_invoice`). */
  readonly typePrefix: string;
  readonly ignoreFields: readonly string[];
  /** Built-in transitions (paid…) then the user's. */
  readonly transitions: readonly Transition[];
  readonly maxDeleteRatio: number;
  readonly maxDeleteMin: number;
}

/** One resource of one source: how to list it and how to confirm deletions. */
export interface ResourcePoller {
  /** What the poller relies on (see `retrohook doctor`). */
  readonly assumptions?: ResourceAssumptions;
  readonly resource: string;
  readonly rules: PollerRules;
  /** Creation instant of a record, for `start: {since}`. */
  createdAt(record: SourceRecord): number | undefined;
  /**
   * Lists records. `incremental` with a cursor lists what changed since it (falling back to a
   * complete scan when an assumption fails); `complete`, or no cursor yet, lists everything.
   */
  list(mode: ListMode, cursor: unknown, context: PassContext): AsyncGenerator<Batch, ListResult, void>;
  /**
   * The list is ordered by last change, newest first, and paged by number: a record edited
   * while a scan runs moves to a page already read. A first scan is then followed by one
   * incremental listing from its cursor, so the record is baselined, not reported as `created`
   * by the next pass.
   */
  readonly orderedByChange?: boolean;
  /**
   * Confirms missing records one by one with the vendor's single-record GET. `gone` only on the
   * vendor's not-found, and only after `probe` (a record seen in this pass) answered 2xx on the
   * same URL template; otherwise `unknown`. Absent when the resource has no such GET.
   * `snapshots` (by refKey) give the last known records, e.g. for nested detail paths.
   * `trashed`: the GET answers 2xx, but the vendor keeps deleted records reachable there (a
   * trash); such a record is deleted once missing from two consecutive complete listings.
   */
  confirmGone?(refs: RecordRef[], probe: RecordRef, context: PassContext, snapshots?: Map<string, Snapshot>): Promise<Map<string, GoneAnswer>>;
}

/** A configured source ready to poll. */
export interface Source {
  readonly name: string;
  readonly pollers: ResourcePoller[];
  readonly http: HttpClient;
  /** Warnings to log once at start (e.g. no audit-log access: reconcile only). */
  readonly notices?: string[];
  close(): void;
}

/**
 * A source that polls through `http`: one poller per configured resource, in the config's order.
 * Closing it closes `http` and then `alsoClose` (e.g. the client of an OAuth token endpoint).
 */
export function httpSource<R>(config: { readonly name: string; readonly resources: readonly R[] }, http: HttpClient, pollerFor: (resource: R) => ResourcePoller, alsoClose: ReadonlyArray<{ close(): void } | undefined> = []): Source {
  return {
    name: config.name,
    http,
    pollers: config.resources.map((resource) => pollerFor(resource)),
    close: () => {
      http.close();
      for (const client of alsoClose) client?.close();
    },
  };
}
