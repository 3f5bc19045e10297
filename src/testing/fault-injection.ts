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

export function crashPoint(name: string): void {
  if (!target && !logFile) return;
  if (logFile) appendFileSync(logFile, `${name}\n`);
  if (name === targetName) {
    hits += 1;
    if (hits >= targetCount) {
      if (logFile) appendFileSync(logFile, `CRASH ${name}\n`);
      process.kill(process.pid, "SIGKILL");
    }
  }
}
