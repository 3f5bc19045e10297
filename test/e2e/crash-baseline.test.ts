import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startCli, waitFor } from "../helpers/cli.js";
import { closingAfterEach } from "../helpers/closing.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { startReceiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp.js";

/**
 * A large first pass writes its baseline on the store's writer thread. Killed there, between
 * two of its commits, the daemon restarts into a first pass again: the records are baselined
 * (no created events), and the changes after it are found.
 *
 * The writer commits the pages waiting for it together (at most the 4 it lets wait), so its
 * first commit holds 1 to 4 pages of 100: 3,500 records make sure a second commit comes.
 */
const closeLater = closingAfterEach();

describe("crash in the baseline writer thread (kill -9)", () => {
  it("restarts into a complete baseline, then finds the changes after it", async () => {
    const api = closeLater(await startFakeRest());
    const receiver = closeLater(await startReceiver());
    api.seed(3_500);
    const dir = tempDir();
    const crashLog = join(dir, "crash.log");
    const { path } = writeConfig({ sources: [restSourceYaml(api.url, api.token)], targets: [{ name: "erp", url: receiver.url }] }, dir);

    const crashing = startCli(["run", "-c", path], { RETROHOOK_CRASH_AT: "store:snapshots-before-commit#2", RETROHOOK_CRASH_LOG: crashLog });
    const crashed = await crashing.done;
    expect(crashed.signal).toBe("SIGKILL");
    expect(readFileSync(crashLog, "utf8")).toContain("CRASH store:snapshots-before-commit\n");

    const daemon = startCli(["run", "-c", path], { RETROHOOK_LOG_LEVEL: "info" });
    try {
      await waitFor(() => /"msg":"pass done"/.test(daemon.stderr()), 20_000, "the first pass after the restart");
      // The writer's first commit (1 to 4 pages) survived the kill; the pages after it are baselined now.
      const done = /"records":(\d+),"events":(\d+),"baselined":(\d+),"deleted":(\d+),"msg":"pass done"/.exec(daemon.stderr());
      expect(done?.slice(1, 3)).toEqual(["3500", "0"]);
      expect(done?.[4]).toBe("0");
      expect([3_100, 3_200, 3_300, 3_400]).toContain(Number(done?.[3]));
      api.update(7, { name: "renamed" });
      const fresh = api.create({ name: "new" });
      const received = (): string[] => receiver.bodies<{ type: string; record_id: string }>().map((b) => `${b.type}:${b.record_id}`);
      await waitFor(() => received().length >= 2, 20_000, "the two changes");
      await new Promise((resolve) => setTimeout(resolve, 1500)); // a few more passes: nothing else comes
      expect([...new Set(received())].sort()).toEqual([`item.created:${fresh.id}`, "item.updated:7"].sort());
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.done;
    }
  }, 60_000);
});
