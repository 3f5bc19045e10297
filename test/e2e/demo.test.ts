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
