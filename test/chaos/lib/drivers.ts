import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../../../src/clock.js";
import { loadConfig } from "../../../src/config/load.js";
import type { Config } from "../../../src/config/types.js";
import { runSourcePass, type PassMode } from "../../../src/pipeline/poll-pass.js";
import { createSource } from "../../../src/sources/registry.js";
import type { Source } from "../../../src/sources/source.js";
import { openStateStore } from "../../../src/store/open.js";
import type { StateStore } from "../../../src/store/store.js";
import { silentLogger } from "../../../src/telemetry/logger.js";
import { startReceiver, type Receiver } from "../../helpers/receiver.js";
import { AdminClient, type PassOutcomeView } from "./admin.js";
import { runCli, serverUrl, spawnCli, stopCli, waitUntil, type CliProcess } from "./cli.js";
import { target, writeConfig } from "./config.js";
import type { Scratch } from "./scratch.js";
import { SECRETS } from "./secrets.js";

/**
 * Two ways to run passes of one source: the real daemon (`retrohook run`, passes triggered
 * through its admin API, events read at a receiver, time moved through the test clock file),
 * and in-process (the pass pipeline over a SQLite state with a clock that skips waits — what the
 * regression tests in `npm test` use to stay fast).
 */
export interface PassDriver {
  readonly kind: "daemon" | "in-process";
  pass(mode: PassMode): Promise<PassOutcomeView[]>;
  cursors(): Promise<Record<string, string>>;
  /** Every event seen so far (`type:record_id`). */
  events(): string[];
  /** Waits until everything written to the outbox was delivered. */
  settle(): Promise<void>;
  advanceClock(ms: number): Promise<void>;
  /** The driven process's clock. */
  now(): number;
  alive(): Promise<boolean>;
  close(): Promise<{ cleanExit: boolean }>;
}

export async function daemonDriver(sourceConfig: Record<string, unknown>, scratch: Scratch, label: string): Promise<PassDriver> {
  const receiver: Receiver = await startReceiver();
  const dir = scratch.dir(label);
  const clockFile = join(dir, "clock-offset-ms");
  let offset = 0;
  writeFileSync(clockFile, "0");
  const config = writeConfig(dir, { sources: [sourceConfig], targets: [target(receiver.url)] });
  const proc: CliProcess = spawnCli(["run", "-c", config], { label: `daemon ${label}`, env: { RETROHOOK_TEST_CLOCK_FILE: clockFile } });
  const source = String(sourceConfig.name);
  try {
    const admin = new AdminClient(await serverUrl(proc), SECRETS.adminToken);
    await waitUntil(async () => {
      const view = await admin.json<{ resources: Array<{ initialized: boolean }>; running: unknown }>("GET", `/api/sources/${source}`);
      return view.running === null && view.resources.every((r) => r.initialized);
    }, 60_000, `the first pass of ${label}`, 100);
    return {
      kind: "daemon",
      pass: (mode) => admin.pass(source, mode),
      cursors: () => admin.cursors(source),
      events: () => receiver.bodies<{ type: string; record_id: string }>().map((b) => `${b.type}:${b.record_id}`),
      async settle() {
        await waitUntil(async () => {
          const targets = await admin.json<Array<{ pending: number; inFlight: number | null }>>("GET", "/api/targets");
          return targets.every((t) => t.pending === 0 && !t.inFlight);
        }, 60_000, `deliveries of ${label}`, 100);
      },
      async advanceClock(ms) {
        offset += ms;
        writeFileSync(clockFile, String(offset));
      },
      now: () => Date.now() + offset,
      alive: async () => !proc.exited() && (await admin.healthy()),
      async close() {
        // Surfaces for the secret grep, after the faults left their errors in state.
        await admin.request("GET", "/metrics", { auth: false });
        for (const path of ["/api/status", `/api/sources/${source}`, "/api/targets", "/api/log?limit=1000", "/api/dead-letters", "/"]) await admin.request("GET", path);
        const exit = await stopCli(proc);
        await runCli(["status", "-c", config], { label: `status ${label}` });
        await runCli(["status", "--json", "-c", config], { label: `status --json ${label}` });
        await receiver.close();
        return { cleanExit: exit.code === 0 };
      },
    };
  } catch (error) {
    if (!proc.exited()) proc.child.kill("SIGKILL");
    await proc.done;
    await receiver.close();
    throw error;
  }
}

export async function inProcessDriver(sourceConfig: Record<string, unknown>, scratch: Scratch, label: string): Promise<PassDriver> {
  const dir = scratch.dir(label);
  const path = writeConfig(dir, { sources: [sourceConfig], targets: [] });
  const config: Config = loadConfig(path, {});
  const clock = new ManualClock(Date.now(), { autoAdvance: true });
  const store: StateStore = await openStateStore(config.state.url, { clock });
  const sourceConfigLoaded = config.sources[0]!;
  const source: Source = createSource(sourceConfigLoaded, { clock, logger: silentLogger() });
  const events: string[] = [];
  const pass = async (mode: PassMode): Promise<PassOutcomeView[]> =>
    runSourcePass({ store, clock, logger: silentLogger(), route: () => [], onEvents: (fresh) => events.push(...fresh.map((e) => `${e.type}:${e.record_id}`)) }, source, sourceConfigLoaded, mode);
  await pass("incremental");
  return {
    kind: "in-process",
    pass,
    async cursors() {
      const out: Record<string, string> = {};
      for (const resource of sourceConfigLoaded.resources) out[resource.name] = JSON.stringify((await store.getResourceState({ source: sourceConfigLoaded.name, resource: resource.name }))?.cursor ?? null);
      return out;
    },
    events: () => events,
    settle: async () => undefined,
    async advanceClock(ms) {
      clock.advance(ms);
    },
    now: () => clock.now(),
    alive: async () => true,
    async close() {
      source.close();
      await store.close();
      return { cleanExit: true };
    },
  };
}
