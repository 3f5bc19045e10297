import { main } from "../../../src/cli/main.js";
import { runCli, type CliExit } from "./cli.js";
import { scanner } from "./secrets.js";

/**
 * Runs one CLI command to its end: in a child process (the chaos run), or in this process
 * through the CLI's `main` with captured stdout/stderr (regression tests: no start-up cost).
 * `env` holds extra environment variables (the test clock offset).
 */
export type CommandRunner = (args: string[], env?: Record<string, string>) => Promise<CliExit>;

export const childRunner: CommandRunner = (args, env = {}) => runCli(args, { env, label: args.slice(0, 2).join(" ") });

let inProcessQueue: Promise<unknown> = Promise.resolve();

/** In-process runs go one at a time (the environment is process-wide). Log lines are silenced. */
export const inProcessRunner: CommandRunner = (args, env = {}) => {
  const run = async (): Promise<CliExit> => {
    const saved: Record<string, string | undefined> = {};
    const wanted = { RETROHOOK_LOG_LEVEL: "silent", ...env };
    for (const [key, value] of Object.entries(wanted)) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
    let stdout = "";
    let stderr = "";
    try {
      const code = await main(args, { out: (text) => void (stdout += text), err: (text) => void (stderr += text), env: process.env });
      scanner.scan("stdout", `in-process ${args[0]}`, stdout);
      scanner.scan("stderr (logs)", `in-process ${args[0]}`, stderr);
      return { code, signal: null, stdout, stderr };
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  };
  const next = inProcessQueue.then(run, run);
  inProcessQueue = next.catch(() => undefined);
  return next;
};
