import { afterEach } from "vitest";

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
