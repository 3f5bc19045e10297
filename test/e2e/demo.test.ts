import { describe, expect, it } from "vitest";
import { runCli, startCli, waitFor } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const verifiedLines = (stdout: string): string[] => stdout.split("\n").filter((line) => line.includes("✓") && line.includes("(signature verified)"));
const typesOf = (lines: string[]): Set<string | undefined> => new Set(lines.map((line) => /\s([a-z_]+\.[a-z_]+)\s/.exec(line)?.[1]));

describe("retrohook demo", () => {
  it("shows at least 3 verified events of at least two types within 30 s, then stops cleanly", async () => {
    // The demo runs 30 s at most; once it has shown enough it is stopped with Ctrl-C (its
    // --for/--seconds end is the next test's), so the test takes as long as the events do.
    const demo = startCli(["demo", "--seconds", "30", "--data", tempDir()]);
    let exited = false;
    void demo.done.then(() => (exited = true));
    const enough = (): boolean => typesOf(verifiedLines(demo.stdout())).size >= 2 && verifiedLines(demo.stdout()).length >= 3;
    await waitFor(() => exited || enough(), 60_000, "the demo's events or its end");
    if (!exited) demo.child.kill("SIGINT");
    const result = await demo.done;
    expect(result.code).toBe(0);
    const verified = verifiedLines(result.stdout);
    expect(verified.length).toBeGreaterThanOrEqual(3);
    const types = typesOf(verified);
    expect(types.size).toBeGreaterThanOrEqual(2);
    expect(result.stdout).toMatch(/stopping: \d+ webhooks received and verified/);
    expect(result.stdout).not.toMatch(/✗ rejected/);
  }, 90_000);
});

describe("retrohook demo --for", () => {
  it("ends by itself after the given time with a summary, exit 0; a bad duration is bad usage", async () => {
    const result = await runCli(["demo", "--for", "3s", "--data", tempDir()], {}, 60_000);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Stops after 3 s \(or Ctrl-C\)\./);
    expect(result.stdout).toMatch(/^summary: ran [2-9] s; \d+ changes made in the simulated account; \d+ webhooks received and verified; \d+ still pending\. Next: /m);
    const bad = await runCli(["demo", "--for", "soon", "--data", tempDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--for soon: expected a duration such as 60s or 2m/);
  }, 90_000);
});
