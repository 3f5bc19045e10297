import { configJsonSchema } from "../../config/json-schema.js";
import { EXIT_OK } from "../../errors.js";
import type { Command } from "./command.js";

export const schemaCommand: Command = {
  name: "schema",
  summary: "print the JSON Schema of the config (for editors and CI checks)",
  help: `Usage: retrohook schema

Prints the JSON Schema of config.yaml on stdout. Editors with the YAML language server use it
through a first line "# yaml-language-server: $schema=./retrohook.schema.json":

  retrohook schema > retrohook.schema.json

Needs no config file.
`,
  options: {},
  async run(_values, io) {
    io.out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    return EXIT_OK;
  },
};
