import { afterAll, describe, expect, it } from "vitest";
import { MALFORMED_CONFIGS } from "../chaos/lib/malformed-configs.js";
import { inProcessRunner } from "../chaos/lib/once.js";
import { quietLog } from "../chaos/lib/report.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { scanner } from "../chaos/lib/secrets.js";
import { adminFuzz, badConfigs } from "../chaos/suites/bad-input.js";

/** Rows "Bad input" of `npm run chaos` (configs in-process; the admin API on a real daemon). */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("bad input (chaos rows)", () => {
  it("every malformed config: exit 2, the place named, no stack trace, no secret", async () => {
    expect(MALFORMED_CONFIGS.length).toBeGreaterThanOrEqual(40);
    const results = await badConfigs({ run: inProcessRunner, scratch });
    for (const r of results) {
      expect(r.code, `${r.name}: ${r.message}`).toBe(2);
      expect(r.pathNamed, `${r.name}: ${r.message}`).toBe(true);
      expect(r.stackTrace, r.name).toBe(false);
    }
    expect(scanner.leaks).toEqual([]);
  }, 60_000);

  it("hostile admin API requests: 4xx, never 5xx, no file served by traversal, the daemon stays up", async () => {
    const fuzz = await adminFuzz({ scratch, log: quietLog, randomRequests: 150 });
    expect(fuzz.serverErrors).toEqual([]);
    expect(fuzz.wronglyAccepted).toEqual([]);
    expect(fuzz.unknownFieldsAccepted).toEqual([]);
    expect(fuzz.traversalLeaks).toBe(0);
    expect(fuzz.aliveAfterEach).toBe(true);
    expect(fuzz.cleanExit).toBe(true);
    expect(fuzz.requests).toBeGreaterThan(400);
    expect(scanner.leaks).toEqual([]);
  }, 90_000);
});
