import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmdirSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Mounts for the state faults (root writes 0444 files, so "read-only" needs a read-only
 * mount and "disk full" a small tmpfs). Needs root with CAP_SYS_ADMIN; `mountSupport` says
 * whether this machine allows it, and why not.
 */

function mount(args: string[]): void {
  execFileSync("mount", args, { stdio: ["ignore", "ignore", "pipe"] });
}

let support: { ok: boolean; reason?: string } | undefined;

export function mountSupport(): { ok: boolean; reason?: string } {
  if (support) return support;
  const dir = mkdtempSync(join(tmpdir(), "retrohook-mount-probe-"));
  try {
    mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
    mount(["-o", "remount,ro", dir]);
    execFileSync("umount", [dir]);
    support = { ok: true };
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    support = { ok: false, reason: `mount is not permitted here (${stderr || (error as Error).message}); needs root with CAP_SYS_ADMIN` };
  } finally {
    try {
      rmdirSync(dir);
    } catch {
      // still mounted: left for the OS
    }
  }
  return support;
}

export function mountTmpfs(dir: string, bytes: number): void {
  mount(["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
}

export function remount(dir: string, readOnly: boolean): void {
  mount(["-o", readOnly ? "remount,ro" : "remount,rw", dir]);
}

export function unmount(dir: string): void {
  try {
    execFileSync("umount", [dir], { stdio: "ignore" });
  } catch {
    execFileSync("umount", ["-l", dir], { stdio: "ignore" });
  }
}

/** Fills the file system holding `dir` until it is full; returns the filler's path and size. */
export function fillDisk(dir: string): { file: string; bytes: number } {
  const file = join(dir, "filler.bin");
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  let bytes = 0;
  try {
    for (let i = 0; i < 1_000_000; i += 1) {
      try {
        bytes += writeSync(fd, chunk);
      } catch {
        break;
      }
    }
    // The last few bytes too.
    for (const size of [4096, 512, 1]) {
      for (let i = 0; i < 64; i += 1) {
        try {
          bytes += writeSync(fd, chunk.subarray(0, size));
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return { file, bytes };
}
