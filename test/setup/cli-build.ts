import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { transpileWithEsbuild } from "../../scripts/transpile.js";

/**
 * vitest's global setup: src/ transpiled once per run into a fresh temporary folder (removed at
 * the end), so the CLI children of the tests start under plain `node` like the shipped daemon —
 * through tsx each start transpiled the CLI's module graph again (1.2 s against 0.6 s for
 * `--version` on two cores). The build is made at the start of every run from the src/ of that
 * moment, never reused from an earlier run. RETROHOOK_TEST_CLI=source runs the children from
 * source through tsx instead (nothing is built). ./use-cli-build.ts hands the folder to the helpers.
 */
declare module "vitest" {
  export interface ProvidedContext {
    /** The root of this run's transpiled copy of src/, or "" when the children run from source. */
    cliBuild: string;
  }
}

export default function setup(project: TestProject): () => void {
  if (process.env.RETROHOOK_TEST_CLI === "source") {
    project.provide("cliBuild", "");
    return () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), "retrohook-test-cli-"));
  const built = transpileWithEsbuild(dir, ["src"]);
  project.provide("cliBuild", built.root);
  return () => rmSync(dir, { recursive: true, force: true });
}
