import type { Command } from "./command.js";
import { demoCommand } from "./demo.js";
import { doctorCommand } from "./doctor.js";
import { migrateStateCommand } from "./migrate-state.js";
import { explainCommand } from "./explain.js";
import { onceCommand } from "./once.js";
import { resetCommand } from "./reset.js";
import { resumeCommand } from "./resume.js";
import { replayCommand } from "./replay.js";
import { runCommand } from "./run.js";
import { schemaCommand } from "./schema.js";
import { statusCommand } from "./status.js";
import { testTargetCommand } from "./test-target.js";
import { validateCommand } from "./validate.js";

export const commands: Record<string, Command> = Object.fromEntries(
  [runCommand, onceCommand, validateCommand, statusCommand, explainCommand, replayCommand, resetCommand, resumeCommand, testTargetCommand, doctorCommand, schemaCommand, demoCommand, migrateStateCommand].map((command) => [command.name, command]),
);
