/**
 * What a learned source fact means, in the words `status` and the UI show. Facts are named
 * `<vendor>:<what>[:<resource or path>]` by the pollers that learn them; a name this table does
 * not know is shown as it is.
 */

/** `facturascripts:no-logmessages-access` → "no access to logmessages: updates and deletions via reconcile only". */
export function describeFact(name: string): string {
  const access = /^[\w-]+:no-([\w.-]+)-access$/.exec(name);
  if (access) {
    const feed = access[1]!;
    if (feed === "logmessages") return "no access to logmessages: updates and deletions via reconcile only";
    return `no access to ${feed}: what it reports (payments: paid) is found via reconcile only`;
  }
  const [, kind, subject] = /^[\w-]+:([\w-]+):(.+)$/.exec(name) ?? [];
  if (kind === "order-verified") return `${subject}: the vendor's sort is proven (a page showed it): incremental passes page back to the cursor`;
  if (kind === "order-unverified") return `${subject}: the vendor's sort is not proven yet: incremental passes scan completely until a page proves it`;
  if (kind === "order-ignored") return `${subject}: the vendor ignores the sort order (a find in the reverse order answered the same first record): walks page by page, by id`;
  if (kind === "order-unsupported") return `${subject}: the vendor refused the sort order: complete scans, page by page`;
  if (kind === "payment-get") return `single-payment GET path that answers: ${subject} (used to confirm payment deletions)`;
  return name;
}

/**
 * Facts that say the key may not read a feed (`<vendor>:no-<feed>-access`): a resume forgets
 * them so the next pass reads the feed again from where the resource left off.
 */
export function isAccessFact(name: string): boolean {
  return /:no-[\w.-]+-access$/.test(name);
}
