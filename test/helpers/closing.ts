import { afterAll, afterEach, beforeAll } from "vitest";

/**
 * Closes what a test starts (fake vendors, receivers, servers) after each test of the calling
 * file (a synchronous `close()` too), last started first: `const api = closeLater(await startFakeRest())`.
 */
export function closingAfterEach(): <T extends { close(): unknown }>(thing: T) => T {
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  return (thing) => {
    open.push(thing);
    return thing;
  };
}

/**
 * One thing for all the tests of the calling file (or `describe` block): started before the first,
 * stopped after the last (after-hooks registered later, e.g. one closing a harness built over it,
 * run before). Returns a getter: the thing exists once the tests run.
 */
export function sharedForFile<T>(start: () => Promise<T>, stop: (thing: T) => Promise<unknown>, startTimeoutMs = 120_000): () => T {
  let thing: T | undefined;
  beforeAll(async () => {
    thing = await start();
  }, startTimeoutMs);
  afterAll(async () => {
    if (thing !== undefined) await stop(thing);
  });
  return () => thing!;
}
