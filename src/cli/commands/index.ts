import type { ParseArgsConfig } from "node:util";
import type { Io } from "../io.js";
import { demoCommand } from "./demo.js";
import { onceCommand } from "./once.js";
import { resetCommand } from "./reset.js";
import { runCommand } from "./run.js";
import { validateCommand } from "./validate.js";

export interface Command {
  name: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Record<string, string | boolean | undefined>, io: Io): Promise<number>;
}

export const commands: Record<string, Command> = Object.fromEntries(
  [runCommand, onceCommand, validateCommand, resetCommand, demoCommand].map((command) => [command.name, command]),
);
