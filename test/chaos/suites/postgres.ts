import { startTestPostgres, type TestPostgres } from "../../helpers/postgres.js";
import { startReceiver } from "../../helpers/receiver.js";
import { killLeftover, sleep, spawnCli, stopCli, waitUntil, type CliProcess } from "../lib/cli.js";
import { target, writeConfig } from "../lib/config.js";
import { seededRandom, type ChangeKind, type DeliveryFigures } from "../lib/ledger.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SECRETS } from "../lib/secrets.js";
import { WORLDS } from "../lib/worlds.js";
import { crashLoop, crashLoopRows, heldInLog } from "./crash-loop.js";

/**
 * State on PostgreSQL under faults: the crash loop with `state.url` on an embedded PostgreSQL,
 * and a restart loop — the database stopped and started again under a running daemon while
 * changes keep coming — after which every final state must have been delivered, duplicates
 * only under their first webhook-id, order kept, with the daemon never restarted.
 */
export interface PostgresChaosResult {
  restarts: number;
  figures: DeliveryFigures;
  made: Record<ChangeKind, number>;
  /** Every final state arrived from the same daemon, with no restart of it. */
  recoveredAlone: boolean;
  unexpectedExits: string[];
  cleanExit: boolean;
  /** Records the daemon held as a mass deletion at the end (its last "deletions held" line). */
  held: number;
  durationMs: number;
}

export async function postgresChaos(options: { kills: number; changes: number; restarts: number; restartChanges: number; scratch: Scratch; log: Logger }): Promise<Row[]> {
  const server = await startTestPostgres();
  try {
    options.log(`postgres: crash loop (${options.kills} kills over ${options.changes} changes)`);
    const crash = await crashLoop({ world: "rest", kills: options.kills, changes: options.changes, stateUrl: server.freshUrl(), label: "rest, state on PostgreSQL", scratch: options.scratch, log: options.log });
    options.log(`postgres: restart loop (${options.restarts} restarts over ${options.restartChanges} changes)`);
    const restart = await restartLoop(server, options);
    return [...crashLoopRows(crash), restartRow(restart)];
  } finally {
    await server.stop();
  }
}

async function restartLoop(server: TestPostgres, options: { restarts: number; restartChanges: number; scratch: Scratch; log: Logger }): Promise<PostgresChaosResult> {
  const started = Date.now();
  const random = seededRandom(20261207);
  const world = await WORLDS.rest!(150);
  const receiver = await startReceiver();
  receiver.respond(() => ({ status: 200, body: "ok", delayMs: Math.floor(random() * 25) }));
  const dir = options.scratch.dir("postgres-restarts");
  const config = writeConfig(dir, { sources: [world.sourceConfig(world.upstream, {})], targets: [target(receiver.url, { concurrency: 4 })] }, { stateUrl: server.freshUrl() });
  world.baseline();
  const unexpectedExits: string[] = [];
  let daemon: CliProcess | undefined;
  let restarts = 0;
  let recoveredAlone = false;
  let cleanExit = false;
  try {
    daemon = spawnCli(["run", "-c", config], { label: "postgres restart loop" });
    await daemon.waitForStderr(/"msg":"pass done"/, 60_000);
    for (let cycle = 0; cycle < options.restarts; cycle += 1) {
      const due = Math.round(((cycle + 1) * options.restartChanges) / options.restarts) - world.changes;
      const up = Math.floor(due / 2);
      for (let i = 0; i < up; i += 1) {
        world.randomChange(random);
        await sleep(Math.floor(random() * 40));
      }
      await sleep(300 + Math.floor(random() * 1200));
      await server.stopServer!();
      for (let i = up; i < due; i += 1) {
        world.randomChange(random);
        await sleep(Math.floor(random() * 40));
      }
      await sleep(500 + Math.floor(random() * 1500));
      await server.startServer!();
      restarts += 1;
      if (daemon.exited()) {
        const exit = await daemon.done;
        unexpectedExits.push(`the daemon exited during restart ${cycle + 1} (code ${exit.code}): ${exit.stderr.slice(-400)}`);
        daemon = spawnCli(["run", "-c", config], { label: "postgres restart loop (again)" });
      }
      if ((cycle + 1) % 5 === 0) options.log(`postgres: ${cycle + 1}/${options.restarts} restarts, ${world.changes} changes, ${receiver.requests.length} deliveries`);
    }
    await waitUntil(() => world.verify(receiver.requests, SECRETS.webhookSecret).lost === 0, 120_000, "every final state delivered").catch(() => undefined);
    recoveredAlone = unexpectedExits.length === 0 && world.verify(receiver.requests, SECRETS.webhookSecret).lost === 0;
    await sleep(1500);
    const exit = await stopCli(daemon);
    cleanExit = exit.code === 0;
    if (!cleanExit) unexpectedExits.push(`the daemon's stop exited with code ${exit.code}: ${exit.stderr.slice(-400)}`);
    return { restarts, figures: world.verify(receiver.requests, SECRETS.webhookSecret), made: { ...world.made }, recoveredAlone, unexpectedExits, cleanExit, held: heldInLog(exit.stderr), durationMs: Date.now() - started };
  } finally {
    await killLeftover(daemon);
    await world.close();
    await receiver.close();
  }
}

function restartRow(result: PostgresChaosResult): Row {
  const f = result.figures;
  const made = result.made;
  const ok = f.lost === 0 && f.splitIds === 0 && f.inconsistent === 0 && f.orderViolations === 0 && f.badSignatures === 0 && f.falseDeletes === 0 && result.recoveredAlone && result.cleanExit;
  return {
    suite: "PostgreSQL",
    scenario: `rest: the database stopped and started ${result.restarts} times under a running daemon and a stream of changes`,
    figures:
      `changes made ${made.create + made.update + made.pay + made.delete}; observable final states ${f.finalStates}, delivered ${f.delivered}, lost ${f.lost}; ` +
      `events delivered ${f.distinctEvents} in ${f.requests} requests, duplicates ${f.duplicates} (all with the first webhook-id: ${f.splitIds === 0 ? "yes" : `no, ${f.splitIds}`}); ` +
      `inconsistent ${f.inconsistent}, order violations ${f.orderViolations}, false deletes ${f.falseDeletes}; recovered without a daemon restart: ${result.recoveredAlone ? "yes" : "no"}; ` +
      `clean stop: ${result.cleanExit ? "yes" : "no"}; ${Math.round(result.durationMs / 1000)} s`,
    result: ok ? "pass" : "FAIL",
    ...(ok ? {} : { notes: [...(result.held > 0 ? [`the daemon held ${result.held} missing records as a mass deletion (guard: max_delete_min/max_delete_ratio): reconciles failed for long enough that deletions piled up`] : []), ...f.problems.slice(0, 5), ...result.unexpectedExits.slice(0, 3)].join("; ") }),
  };
}
