import { appendFileSync } from "node:fs";

/**
 * Test-only named crash points. `RETROHOOK_CRASH_AT=name` (optionally `name#N`, the Nth time)
 * kills the process with SIGKILL when that point is reached; `RETROHOOK_CRASH_LOG=file` gets
 * one line per point reached, so a test can prove it was reached. Not part of the contract.
 */
const target = process.env.RETROHOOK_CRASH_AT;
const logFile = process.env.RETROHOOK_CRASH_LOG;
const [targetName, targetCountText] = (target ?? "").split("#");
const targetCount = Number(targetCountText ?? 1) || 1;
let hits = 0;
/** In-process tests only (`failNextAt`): the point that throws the next time it is reached. */
let failing: string | undefined;

/**
 * In-process tests: the next time `name` is reached it throws instead of going on — a write
 * failing between its statements, before its commit. Not reachable from the daemon's config.
 */
export function failNextAt(name: string): void {
  failing = name;
}

export function crashPoint(name: string): void {
  if (!target && !logFile && failing === undefined) return;
  if (name === failing) {
    failing = undefined;
    throw new Error(`injected failure at ${name}`);
  }
  if (logFile) appendFileSync(logFile, `${name}\n`);
  if (name === targetName) {
    hits += 1;
    if (hits >= targetCount) {
      if (logFile) appendFileSync(logFile, `CRASH ${name}\n`);
      process.kill(process.pid, "SIGKILL");
    }
  }
}
