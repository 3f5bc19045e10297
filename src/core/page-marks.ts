/**
 * Skipping the compare of a page seen before (docs/decisions/0007-page-marks.md). Pure: the
 * store keeps the marks, the pass asks these questions.
 */

/**
 * True when a page whose bytes were compared at write sequence `since` would compare equal
 * again: none of its records had its snapshot changed after `since`.
 */
export function pageUnchanged(keys: readonly string[], since: number, changed: ReadonlyMap<string, number>): boolean {
  for (const key of keys) {
    const at = changed.get(key);
    if (at !== undefined && at > since) return false;
  }
  return true;
}

/** Change marks no kept page can be affected by: at or before the oldest page's sequence. */
export function staleChangeMarks(pages: ReadonlyMap<string, number>, changed: ReadonlyMap<string, number>): string[] {
  let oldest = Number.POSITIVE_INFINITY;
  for (const since of pages.values()) oldest = Math.min(oldest, since);
  const stale: string[] = [];
  for (const [key, at] of changed) if (at <= oldest) stale.push(key);
  return stale;
}
