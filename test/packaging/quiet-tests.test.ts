import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

/**
 * `npm test` is quiet on success: tests that drive error paths (bad config, unreachable vendors,
 * failing passes) keep their loggers off the terminal — a logger in a test writes to a sink
 * (`silentLogger()`, `captureLogger()`), and a CLI command run in-process gets
 * `RETROHOOK_LOG_LEVEL: "silent"` or an `Io` that captures. Checked by running such files in a
 * child vitest and counting what reaches stderr, and the JSON log lines on either stream.
 */
const NOISY = ["test/config/first-hour-messages.test.ts", "test/pipeline/faults.test.ts"];
/** vitest itself writes nothing to stderr on success; a few lines of slack for a runtime warning. */
const MAX_STDERR_LINES = 3;

describe("quiet test output", () => {
  it(`error-path test files print at most ${MAX_STDERR_LINES} lines on stderr and no log lines`, () => {
    const child = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "--maxWorkers=1", ...NOISY], {
      encoding: "utf8",
      timeout: 240_000,
      env: { ...process.env, CI: "", FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    expect(child.status, child.stdout + child.stderr).toBe(0);
    expect(child.stdout).toMatch(new RegExp(`Test Files\\s+${NOISY.length} passed`));
    const stderr = child.stderr.split("\n").filter((line) => line.trim() !== "");
    expect(stderr.length, stderr.slice(0, 20).join("\n")).toBeLessThanOrEqual(MAX_STDERR_LINES);
    const logLines = `${child.stdout}\n${child.stderr}`.split("\n").filter((line) => /^\{"level":/.test(line.trim()));
    expect(logLines, logLines.slice(0, 5).join("\n")).toEqual([]);
  }, 300_000);
});
