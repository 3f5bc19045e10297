import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const entry = fileURLToPath(new URL("../../src/cli/entry.ts", import.meta.url));
/** tsx's loader by file URL: `--import tsx` would resolve from the working folder. */
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
let builtRoot: string | undefined;

/**
 * Where the CLI children run from: a transpiled copy of src/ (`transpileForNode`'s root) —
 * `npm test` (test/setup/cli-build.ts, fresh each run) and `npm run chaos` set one — or, when
 * undefined, src/ itself through tsx.
 */
export function useBuiltCli(rootOfBuild: string | undefined): void {
  builtRoot = rootOfBuild;
}

const running = new Set<ChildProcess>();

/** Notes a CLI child until it has exited, for `killLeftoverCli` (or for the scope given). */
export function trackCli(child: ChildProcess, scope: Set<ChildProcess> = running): void {
  scope.add(child);
  child.once("close", () => scope.delete(child));
}

/** SIGKILLs the children of a scope (`CliOptions.scope`) still running and waits for them to exit. */
export async function killCli(scope: Set<ChildProcess>): Promise<number> {
  const left = [...scope];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (!scope.has(child)) return resolve();
          child.once("close", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
  return left.length;
}

/**
 * SIGKILLs the CLI children still running and waits for them to exit (vitest runs it after each
 * test, test/setup/use-cli-build.ts: a test that failed or timed out with a daemon up leaves no
 * `retrohook run` behind). Returns how many there were. Children started with a scope of their
 * own are left to it.
 */
export function killLeftoverCli(): Promise<number> {
  return killCli(running);
}

/** `node`'s arguments for `retrohook <args>`, from the build when there is one, else from source. */
export function cliArgv(args: string[]): string[] {
  return builtRoot ? [join(builtRoot, "src/cli/entry.js"), ...args] : ["--import", tsx, entry, ...args];
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The working folder (default the repo): where `./config.yaml` and relative paths are found. */
  cwd?: string;
  /**
   * Tracks the child here instead of for `killLeftoverCli`: for tests of one file that run
   * concurrently (after-each hooks would kill a neighbour's children), which `killCli` their own.
   */
  scope?: Set<ChildProcess>;
}

/** The real CLI in a child process (`cliArgv`), like a user runs it. */
export function startCli(args: string[], env: Record<string, string> = {}, options: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult>; stderr: () => string; stdout: () => string } {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: options.cwd ?? root,
    env: { ...process.env, RETROHOOK_LOG_LEVEL: process.env.RETROHOOK_TEST_LOG_LEVEL ?? "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackCli(child, options.scope);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stderr: () => stderr, stdout: () => stdout };
}

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000, options: CliOptions = {}): Promise<CliResult> {
  const { child, done } = startCli(args, env, options);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return done.finally(() => clearTimeout(timer));
}

/** Resolves when `predicate(stderr)` holds, polling. */
export async function waitFor(check: () => boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
