import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Temporary folders of one chaos run or one test, removed by `cleanup` (mount points first unmounted by their owner). */
export class Scratch {
  private readonly dirs: string[] = [];

  constructor(private readonly prefix = "retrohook-chaos-") {}

  dir(label = ""): string {
    const dir = mkdtempSync(join(tmpdir(), `${this.prefix}${label ? `${label}-` : ""}`));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.dirs.splice(0)) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // a busy mount point: its owner unmounts it; the rest still goes
      }
    }
  }
}
