import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Most of a file's time is its CLI children and servers waiting on timers, so two files at a
    // time even on two cores (vitest's default, cores − 1, would run one): decision 0017.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Tests marked concurrent (test/e2e/crash.test.ts: a daemon each, mostly waiting on its
    // schedule) run at most 3 at a time.
    maxConcurrency: 3,
    // The CLI children run src/ transpiled once per run (RETROHOOK_TEST_CLI=source: through tsx).
    globalSetup: ["test/setup/cli-build.ts"],
    setupFiles: ["test/setup/use-cli-build.ts"],
  },
});
