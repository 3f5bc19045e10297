import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // The CLI children run src/ transpiled once per run (RETROHOOK_TEST_CLI=source: through tsx).
    globalSetup: ["test/setup/cli-build.ts"],
    setupFiles: ["test/setup/use-cli-build.ts"],
  },
});
