import { parseArgs, type ParseArgsConfig } from "node:util";
import { didYouMean } from "../core/did-you-mean.js";
import { ConfigError, EXIT_FAILURE, EXIT_USAGE, UsageError, errorMessage } from "../errors.js";
import { processIo, scrubbedIo, type Io } from "./io.js";
import type { Command } from "./commands/command.js";
import { commands } from "./commands/index.js";
import { packageVersion } from "../version.js";

const USAGE = `retrohook — webhooks for systems that have none

Usage: retrohook <command> [options]

Commands:
${Object.values(commands)
  .map((c) => `  ${c.name.padEnd(12)} ${c.summary}`)
  .join("\n")}

Every command takes -c/--config FILE (default $RETROHOOK_CONFIG, else ./config.yaml).
Run "retrohook <command> --help" for its options. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.
`;

export async function main(argv: string[], rawIo: Io = processIo): Promise<number> {
  // Everything a command prints may quote a vendor's or a receiver's answer: scrubbed on the way out.
  const io = scrubbedIo(rawIo);
  const [name, ...rest] = argv;
  if (!name) {
    // A usage error, like an unknown command: on stderr, so stdout stays empty.
    io.err(`retrohook: no command given\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(USAGE);
    return 0;
  }
  if (name === "--version" || name === "-v") {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  const command: Command | undefined = commands[name];
  if (!command) {
    const suggestion = didYouMean(name, Object.keys(commands));
    io.err(`retrohook: unknown command "${name}"${suggestion ? `; did you mean "retrohook ${suggestion}"?` : ""}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    const options = { ...command.options, config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } satisfies ParseArgsConfig["options"];
    const parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: Boolean(command.positionals?.length) });
    if (parsed.values.help) {
      io.out(command.help);
      return 0;
    }
    return await command.run(parsed.values as Record<string, string | boolean | undefined>, io, parsed.positionals);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`retrohook: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`retrohook ${name}: ${errorMessage(error)}\n${command.help}`);
      return EXIT_USAGE;
    }
    io.err(`retrohook ${name}: ${errorMessage(error)}\n`);
    return EXIT_FAILURE;
  }
}
