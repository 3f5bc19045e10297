import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cliArgv, trackCli } from "../../helpers/cli.js";
import { scanner } from "./secrets.js";

/**
 * The real CLI in a child process: as plain JavaScript transpiled from src/ after
 * `useBuiltCli(root)` (the chaos run and `npm test` build one: it starts in a third of the time,
 * and its RSS is the daemon's own, without tsx's loader), else from source through tsx
 * (`cliArgv` of test/helpers/cli.ts). Everything a child writes is fed to the secret scanner when it exits.
 */

export { useBuiltCli } from "../../helpers/cli.js";
export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly label: string;
  stdout(): string;
  stderr(): string;
  readonly done: Promise<CliExit>;
  exited(): boolean;
  /** Resolves with the first match of `pattern` in stderr; rejects when the process exits first or after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resident set size in kB (from /proc), or undefined once exited. */
  rssKb(): number | undefined;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Name for reports and the leak scanner. */
  label?: string;
  /** RETROHOOK_LOG_LEVEL (default info: the tests read log lines). */
  logLevel?: string;
}

export function spawnCli(args: string[], options: SpawnOptions = {}): CliProcess {
  const label = options.label ?? args.join(" ");
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: ROOT,
    env: { ...process.env, RETROHOOK_LOG_LEVEL: options.logLevel ?? "info", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackCli(child);
  let stdout = "";
  let stderr = "";
  let exited = false;
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const listener of listeners) listener();
  });
  const done = new Promise<CliExit>((resolve) =>
    child.on("close", (code, signal) => {
      exited = true;
      for (const listener of listeners) listener();
      scanner.scan("stdout", label, stdout);
      scanner.scan("stderr (logs)", label, stderr);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return {
    child,
    pid: child.pid ?? -1,
    label,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    exited: () => exited,
    waitForStderr(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(stderr);
          if (match) finish(() => resolve(match));
          else if (exited) finish(() => reject(new Error(`${label}: exited before ${pattern} appeared; stderr tail: ${stderr.slice(-1500)}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${label}: ${pattern} did not appear in ${timeoutMs} ms; stderr tail: ${stderr.slice(-1500)}`))), timeoutMs);
        const finish = (fn: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        listeners.add(check);
        check();
      });
    },
    rssKb() {
      if (exited || !child.pid) return undefined;
      try {
        const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        return match ? Number(match[1]) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** Runs a CLI command to its end (SIGKILL after `timeoutMs`). */
export async function runCli(args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<CliExit> {
  const proc = spawnCli(args, { logLevel: "warn", ...options });
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  try {
    return await proc.done;
  } finally {
    clearTimeout(timer);
  }
}

/** The daemon's admin server URL, from its "server listening on …" log line. */
export async function serverUrl(proc: CliProcess, timeoutMs = 30_000): Promise<string> {
  const match = await proc.waitForStderr(/server listening on (http:\/\/[0-9.:[\]]+)/, timeoutMs);
  return match[1]!;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
export async function stopCli(proc: CliProcess, graceMs = 15_000): Promise<CliExit> {
  if (!proc.exited()) proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), graceMs);
  try {
    return await proc.done;
  } finally {
    clearTimeout(timer);
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGKILLs a process still running (a suite's clean-up after a failure) and waits for it. */
export async function killLeftover(proc: CliProcess | undefined): Promise<void> {
  if (!proc || proc.exited()) return;
  proc.child.kill("SIGKILL");
  await proc.done;
}
