import { afterEach } from "vitest";
import { ManualClock } from "../../src/clock.js";

/**
 * A vendor fake per test on its own `ManualClock` (at 2026-11-23T10:00:00Z unless told), closed
 * after each test of the calling file: `const fakes = fakeOnClock(startWfirmaFake)`, then
 * `const { fake, clock } = await fakes.start(options)` in a test and `fakes.current()` in helpers.
 */
export function fakeOnClock<F extends { close(): Promise<unknown> }, O extends { now?: () => number }>(
  startFake: (options?: O) => Promise<F>,
  at = "2026-11-23T10:00:00Z",
): { start(options?: O): Promise<{ fake: F; clock: ManualClock }>; current(): F } {
  let fake: F | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  return {
    async start(options = {} as O) {
      const clock = new ManualClock(Date.parse(at));
      fake = await startFake({ now: () => clock.now(), ...options });
      return { fake, clock };
    },
    current() {
      if (!fake) throw new Error("no fake started in this test");
      return fake;
    },
  };
}
