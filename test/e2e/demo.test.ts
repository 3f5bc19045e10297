import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

describe("retrohook demo", () => {
  it("shows at least 3 verified events of at least two types within 30 s, then stops cleanly", async () => {
    const result = await runCli(["demo", "--seconds", "30", "--data", tempDir()], {}, 60_000);
    expect(result.code).toBe(0);
    const verified = result.stdout.split("\n").filter((line) => line.includes("✓") && line.includes("(signature verified)"));
    expect(verified.length).toBeGreaterThanOrEqual(3);
    const types = new Set(verified.map((line) => /\s([a-z_]+\.[a-z_]+)\s/.exec(line)?.[1]));
    expect(types.size).toBeGreaterThanOrEqual(2);
    expect(result.stdout).toMatch(/stopping: \d+ webhooks received and verified/);
    expect(result.stdout).not.toMatch(/✗ rejected/);
  }, 90_000);
});

describe("retrohook demo --for", () => {
  it("ends by itself after the given time with a summary, exit 0; a bad duration is bad usage", async () => {
    const result = await runCli(["demo", "--for", "12s", "--data", tempDir()], {}, 60_000);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Stops after 12 s \(or Ctrl-C\)\./);
    expect(result.stdout).toMatch(/^summary: ran 1\d s; \d+ changes made in the simulated account; \d+ webhooks received and verified; \d+ still pending\. Next: /m);
    const bad = await runCli(["demo", "--for", "soon", "--data", tempDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--for soon: expected a duration such as 60s or 2m/);
  }, 90_000);
});
