/**
 * How far one pass may read before it is taken for a list that never ends (a vendor returning a
 * fresh `next` forever). A configured bound wins; otherwise the bound is derived from the last
 * complete listing with generous headroom (ten times it, and never under a floor), and before
 * any complete listing a fixed first-pass bound applies. Pure: src/pipeline/poll-pass.ts applies it.
 */

export interface PassSize {
  pages: number;
  records: number;
}

export interface PassBounds extends PassSize {
  /** Where each bound came from, for the error message. */
  why: { pages: string; records: string };
}

/** Headroom over the last complete listing. */
export const PASS_BOUND_HEADROOM = 10;
/** Floors of derived bounds (a small resource may grow). */
export const PASS_BOUND_FLOOR: PassSize = { pages: 1_000, records: 100_000 };
/** Bounds before any complete listing is known (a first baseline). */
export const PASS_BOUND_FIRST: PassSize = { pages: 20_000, records: 2_000_000 };

export const PASS_BOUND_DEFAULTS = {
  pages: `${PASS_BOUND_HEADROOM}× the pages of the last complete listing, at least ${PASS_BOUND_FLOOR.pages.toLocaleString("en-US")} (${PASS_BOUND_FIRST.pages.toLocaleString("en-US")} before the first complete listing)`,
  records: `${PASS_BOUND_HEADROOM}× the records of the last complete listing, at least ${PASS_BOUND_FLOOR.records.toLocaleString("en-US")} (${PASS_BOUND_FIRST.records.toLocaleString("en-US")} before the first complete listing)`,
};

export function passBounds(configured: Partial<PassSize>, lastComplete: PassSize | undefined): PassBounds {
  const one = (key: keyof PassSize): [number, string] => {
    const set = configured[key];
    if (set !== undefined) return [set, "configured"];
    if (!lastComplete) return [PASS_BOUND_FIRST[key], "the default before a first complete listing"];
    const derived = Math.max(PASS_BOUND_FLOOR[key], lastComplete[key] * PASS_BOUND_HEADROOM);
    return [derived, `default: ${PASS_BOUND_HEADROOM}× the last complete listing's ${lastComplete[key]}, at least ${PASS_BOUND_FLOOR[key]}`];
  };
  const [pages, whyPages] = one("pages");
  const [records, whyRecords] = one("records");
  return { pages, records, why: { pages: whyPages, records: whyRecords } };
}

/** The bound a pass that has read `read` would pass, or undefined while within both. */
export function passBoundExceeded(read: PassSize, bounds: PassBounds): "pages" | "records" | undefined {
  if (read.pages > bounds.pages) return "pages";
  if (read.records > bounds.records) return "records";
  return undefined;
}
