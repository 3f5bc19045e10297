import { describe, expect, it } from "vitest";
import { pacedRenders } from "../../src/server/metrics-refresh.js";

/**
 * #27 item 6: scrapers in a tight loop took half of the delivery rate. `/metrics` renders one
 * body at a time and waits, after a render of `d` ms, `d × (1 − share) / share` before the next,
 * so scraping takes at most `share` of the event loop — and every scrape still gets a body
 * rendered after it arrived.
 */

/** A fake time line: `sleep` and the render's cost move it; renders return what `state` is when they run. */
function harness(renderMs: number) {
  let t = 0;
  let state = 0;
  const renders: Array<{ at: number; state: number }> = [];
  const sleeps: number[] = [];
  const render = async (): Promise<string> => {
    renders.push({ at: t, state });
    const seen = state;
    t += renderMs;
    await Promise.resolve();
    return `state ${seen}`;
  };
  const scrapeWith = pacedRenders(render, {
    share: 0.1,
    maxWaitMs: 500,
    now: () => t,
    cpuMs: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
      await Promise.resolve();
    },
  });
  return {
    scrape: () => bodyOf(scrapeWith),
    renders,
    sleeps,
    set: (value: number) => (state = value),
    advance: (ms: number) => (t += ms),
    now: () => t,
  };
}

/** The body one scrape was sent. */
async function bodyOf(scrape: (send: (body: string) => void) => Promise<void>): Promise<string> {
  let sent: string | undefined;
  await scrape((body) => (sent = body));
  return sent!;
}

describe("paced /metrics renders", () => {
  it("an occasional scrape renders at once", async () => {
    const h = harness(2);
    expect(await h.scrape()).toBe("state 0");
    h.advance(1_000);
    h.set(1);
    expect(await h.scrape()).toBe("state 1");
    expect(h.sleeps).toEqual([]);
  });

  it("scrape → change → scrape: the second sees the change, after the pause the first render earned", async () => {
    const h = harness(2);
    expect(await h.scrape()).toBe("state 0");
    h.set(1);
    expect(await h.scrape()).toBe("state 1");
    expect(h.sleeps).toEqual([18]);
    expect(h.renders.map((r) => r.at)).toEqual([0, 20]);
  });

  it("scrapes that arrive during a render wait for the next one and share it; none gets a body rendered before it arrived", async () => {
    const h = harness(2);
    const first = h.scrape();
    h.set(1);
    const late = [h.scrape(), h.scrape(), h.scrape()];
    expect(await first).toBe("state 0");
    expect(await Promise.all(late)).toEqual(["state 1", "state 1", "state 1"]);
    expect(h.renders).toHaveLength(2);
  });

  it("clients scraping in a loop get at most the share of the time", async () => {
    const h = harness(3);
    const client = async (): Promise<number> => {
      let n = 0;
      while (h.now() < 10_000) {
        await h.scrape();
        n += 1;
      }
      return n;
    };
    const served = await Promise.all([client(), client(), client(), client()]);
    const busy = h.renders.length * 3;
    expect(busy / h.now()).toBeLessThanOrEqual(0.1 + 0.001);
    expect(busy / h.now()).toBeGreaterThan(0.09);
    expect(served.every((n) => n > 100)).toBe(true);
  });

  it("the sends count in the cost: the pause follows render and writes together", async () => {
    let t = 0;
    const sleeps: number[] = [];
    const scrape = pacedRenders(
      async () => {
        t += 1;
        return "body";
      },
      { share: 0.1, maxWaitMs: 500, now: () => t, cpuMs: () => t, sleep: async (ms) => void sleeps.push(ms) },
    );
    const write = (): void => void (t += 2);
    await scrape(write);
    await scrape(write);
    expect(sleeps).toEqual([27]);
  });

  it("a slow render does not make the next scrape wait past maxWaitMs; a failed render fails only its own scrapes", async () => {
    let t = 0;
    let fail = true;
    const sleeps: number[] = [];
    const scrape = pacedRenders(
      async () => {
        t += 400;
        if (fail) throw new Error("state read failed");
        return "ok";
      },
      { share: 0.1, maxWaitMs: 500, now: () => t, cpuMs: () => t, sleep: async (ms) => void sleeps.push(ms) },
    );
    await expect(bodyOf(scrape)).rejects.toThrow("state read failed");
    fail = false;
    expect(await bodyOf(scrape)).toBe("ok");
    expect(sleeps).toEqual([500]);
  });
});
