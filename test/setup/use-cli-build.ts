import { inject } from "vitest";
import { useBuiltCli } from "../helpers/cli.js";

/** A vitest setup file: every test file's CLI children run this run's build (./cli-build.ts). */
useBuiltCli(inject("cliBuild") || undefined);
