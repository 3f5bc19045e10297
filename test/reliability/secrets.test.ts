import { afterAll, describe, expect, it } from "vitest";
import { inProcessRunner } from "../chaos/lib/once.js";
import { quietLog } from "../chaos/lib/report.js";
import { Scratch } from "../chaos/lib/scratch.js";
import { secretsSweep } from "../chaos/suites/secrets.js";

/**
 * Rows "Secrets" of `npm run chaos`: the sweep over every surface (CLI commands in-process).
 * No known holes: once-stderr-secrets.test.ts (`once` printed vendor errors unscrubbed) and
 * state-keeps-secrets.test.ts (`status` showed old credentials kept in state after a rotation)
 * were the last, both fixed.
 */
const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe("secrets (chaos rows)", () => {
  it("no secret in logs, /metrics, the admin API, the UI or CLI outputs, whatever the sources and receivers echo", async () => {
    const result = await secretsSweep({ scratch, log: quietLog, run: inProcessRunner });
    expect(result.problems).toEqual([]);
    expect(result.errorsProvoked).toBeGreaterThanOrEqual(10);
    expect(result.surfacesRead).toBeGreaterThan(50);
    expect(result.cleanExit).toBe(true);
    expect(result.leaks).toEqual([]);
  }, 110_000);
});
