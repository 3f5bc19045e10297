import { describe, expect, it } from "vitest";
import { AccessTokenCache, REFUSED_MS, RENEW_BEFORE_MS } from "../../../src/sources/http/token-cache.js";

function clockAt(start: number) {
  const clock = { at: start, now: () => clock.at, sleep: async () => {} };
  return clock;
}

describe("AccessTokenCache", () => {
  it("fetches once for every caller waiting at the same time", async () => {
    const clock = clockAt(0);
    const cache = new AccessTokenCache(clock);
    let calls = 0;
    let release!: (value: string) => void;
    const fetch = () => {
      calls += 1;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const waiting = [cache.get(fetch), cache.get(fetch), cache.get(fetch)];
    release("t1");
    cache.keep("t1", 3600_000);
    expect(await Promise.all(waiting)).toEqual(["t1", "t1", "t1"]);
    expect(calls).toBe(1);
    expect(await cache.get(fetch)).toBe("t1");
    expect(calls).toBe(1);
  });

  it("renews the renewal margin before expiry, or a quarter of a short life", async () => {
    const clock = clockAt(1_000);
    const cache = new AccessTokenCache(clock);
    let n = 0;
    const fetch = async () => {
      n += 1;
      return `t${n}`;
    };
    cache.keep("long", 2 * 3600_000);
    clock.at = 1_000 + 2 * 3600_000 - RENEW_BEFORE_MS - 1;
    expect(await cache.get(fetch)).toBe("long");
    clock.at += 1;
    expect(await cache.get(fetch)).toBe("t1");

    cache.keep("short", 60_000);
    clock.at += 45_000 - 1;
    expect(await cache.get(fetch)).toBe("short");
    clock.at += 1;
    expect(await cache.get(fetch)).toBe("t2");
  });

  it("keeps a token without a lifetime until it is invalidated, and only the one named", async () => {
    const clock = clockAt(0);
    const cache = new AccessTokenCache(clock);
    cache.keep("forever", undefined, false);
    expect(cache.fetched).toBe(0);
    clock.at = 10 * 365 * 86_400_000;
    expect(await cache.get(async () => "new")).toBe("forever");
    cache.invalidate("another");
    expect(await cache.get(async () => "new")).toBe("forever");
    cache.invalidate("forever");
    expect(await cache.get(async () => "new")).toBe("new");
  });

  it("answers a refusal without asking again for a minute, then asks once", async () => {
    const clock = clockAt(0);
    const cache = new AccessTokenCache(clock);
    let calls = 0;
    const refusing = async (): Promise<string> => {
      calls += 1;
      throw cache.refuse(new Error("refused"));
    };
    await expect(cache.get(refusing)).rejects.toThrow("refused");
    clock.at = REFUSED_MS - 1;
    await expect(cache.get(refusing)).rejects.toThrow("refused");
    expect(calls).toBe(1);
    clock.at = REFUSED_MS;
    await expect(cache.get(refusing)).rejects.toThrow("refused");
    expect(calls).toBe(2);
  });
});
