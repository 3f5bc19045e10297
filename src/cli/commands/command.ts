import type { ParseArgsConfig } from "node:util";
import type { Io } from "../io.js";

/** One CLI command: its name, help, options and what it runs (exit code). */
export interface Command {
  name: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Names of the positional arguments (`test-target NAME`); none when absent. */
  positionals?: string[];
  run(values: Record<string, string | boolean | undefined>, io: Io, positionals?: string[]): Promise<number>;
}
