import { existsSync, mkdirSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import { tempDir } from "../helpers/tmp.js";

/**
 * Issue #27, item 12. State files hold every vendor record: they were created 0644 (and their
 * folder 0755), readable by every local user. And the single-process lock was named after the
 * path as given, so a second path to the same file (a symlink) took a second lock and two
 * daemons wrote one state. Failed on e0998cc (0644 files; the symlinked open succeeded).
 */
const mode = (path: string): number => statSync(path).mode & 0o777;

describe("state files", () => {
  it("are created 0600, in a folder created 0700 (the SQLite file, its -wal and -shm, the lock)", async () => {
    const dir = tempDir();
    const file = join(dir, "data", "nested", "state.sqlite");
    const store = await openStateStore(`sqlite://${file}`);
    try {
      await store.putSourceState("s", { lastPassAt: "2026-01-01T00:00:00.000Z" });
      for (const path of [file, `${file}-wal`, `${file}-shm`, `${file}.lock`]) {
        expect(existsSync(path), path).toBe(true);
        expect(mode(path).toString(8), path).toBe("600");
      }
      expect(mode(join(dir, "data", "nested")).toString(8)).toBe("700");
      expect(mode(join(dir, "data")).toString(8)).toBe("700");
    } finally {
      await store.close();
    }
  });

  it("keep the mode of a folder the operator made", async () => {
    const dir = tempDir();
    const folder = join(dir, "mine");
    mkdirSync(folder, { mode: 0o750 });
    const store = await openStateStore(`sqlite://${join(folder, "state.sqlite")}`);
    await store.close();
    expect(mode(folder).toString(8)).toBe("750");
  });
});

describe("the single-process lock", () => {
  it("is taken on the resolved path: a symlinked state path cannot open a state file in use", async () => {
    const dir = tempDir();
    const file = join(dir, "real", "state.sqlite");
    const first = await openStateStore(`sqlite://${file}`);
    try {
      symlinkSync(join(dir, "real"), join(dir, "alias"));
      symlinkSync(file, join(dir, "link.sqlite"));
      await expect(openStateStore(`sqlite://${join(dir, "alias", "state.sqlite")}`)).rejects.toThrow(/in use by another retrohook process/);
      await expect(openStateStore(`sqlite://${join(dir, "link.sqlite")}`)).rejects.toThrow(/in use by another retrohook process/);
    } finally {
      await first.close();
    }
    const again = await openStateStore(`sqlite://${join(dir, "link.sqlite")}`);
    await again.close();
  });
});
