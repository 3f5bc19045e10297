import { afterEach } from "vitest";

/**
 * Closes what a test starts (fake vendors, receivers, servers) after each test of the calling
 * file, last started first: `const api = closeLater(await startFakeRest())`.
 */
export function closingAfterEach(): <T extends { close(): Promise<unknown> }>(thing: T) => T {
  const open: Array<{ close(): Promise<unknown> }> = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  return (thing) => {
    open.push(thing);
    return thing;
  };
}
