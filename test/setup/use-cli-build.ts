import { afterEach, inject } from "vitest";
import { killLeftoverCli, useBuiltCli } from "../helpers/cli.js";

/**
 * A vitest setup file: every test file's CLI children run this run's build (./cli-build.ts), and
 * a CLI child still running when its test ends (failed, timed out) is killed then.
 */
useBuiltCli(inject("cliBuild") || undefined);
afterEach(async () => {
  await killLeftoverCli();
});
