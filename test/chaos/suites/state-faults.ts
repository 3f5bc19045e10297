import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { startFakeRest, type FakeRest } from "../../helpers/fake-rest.js";
import { startReceiver, type Receiver } from "../../helpers/receiver.js";
import { AdminClient } from "../lib/admin.js";
import { killLeftover, serverUrl, sleep, spawnCli, stopCli, waitUntil, type CliProcess } from "../lib/cli.js";
import { restSource, target, writeConfig } from "../lib/config.js";
import { fillDisk, mountSupport, mountTmpfs, remount, unmount } from "../lib/mounts.js";
import type { CommandRunner } from "../lib/once.js";
import { peekState, type StatePeek } from "../lib/peek.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SECRETS } from "../lib/secrets.js";

/**
 * State faults: the state file on a read-only mount, on a full disk (a small tmpfs filled up),
 * and corrupted (a garbage header; garbage pages). For each: the failure is reported clearly
 * (exit code and a message that names the cause), the pass or delivery fails and leaves
 * outbox, snapshots and cursor as they were, the file is never replaced, nothing accepted before
 * is lost, and once the fault is gone the next run delivers everything.
 *
 * A read-only remount is impossible while the daemon holds the file open for writing (Linux
 * answers EBUSY — checked here), so "read-only" is tested at start-up of `once` and `run`; the
 * full disk is also tested under a running daemon.
 */

export interface StateFaultResult {
  name: string;
  ran: boolean;
  skipReason?: string;
  reported: boolean;
  message: string;
  exits: string[];
  stateUnchanged: boolean;
  fileUntouched?: boolean;
  nothingLost: boolean;
  recovered: boolean;
  problems: string[];
}

const IDS = [{ source: "legacy", resource: "items" }];
const HOUR = 3_600_000;
const at = (ms: number): Record<string, string> => ({ RETROHOOK_TEST_CLOCK_OFFSET_MS: String(ms) });

interface World {
  api: FakeRest;
  receiver: Receiver;
  config: string;
  file: string;
  before: StatePeek;
  /** The event accepted (in the outbox) before the fault. */
  accepted: string;
  changes: Array<{ id: number; name: string }>;
}

/** A state with a baseline and one accepted, undelivered event (the receiver answered 503). */
async function prepare(run: CommandRunner, dir: string, stateDir: string, seed = 20): Promise<World> {
  const api = await startFakeRest({ token: SECRETS.restToken });
  const receiver = await startReceiver();
  api.seed(seed);
  const config = writeConfig(dir, { sources: [restSource(api.url)], targets: [target(receiver.url)] }, { stateDir });
  const baseline = await run(["once", "-c", config], at(0));
  if (baseline.code !== 0) throw new Error(`baseline once exited ${baseline.code}: ${baseline.stderr.slice(-400)}`);
  receiver.replySequence([{ status: 503 }]);
  api.update(1, { name: "accepted before the fault" });
  const first = await run(["once", "-c", config], at(0));
  if (first.code !== 0) throw new Error(`once exited ${first.code}: ${first.stderr.slice(-400)}`);
  const file = join(stateDir, "state.sqlite");
  const before = await peekState(file, IDS);
  const accepted = Object.values(before.pending)[0];
  if (!accepted) throw new Error("no pending delivery before the fault");
  return { api, receiver, config, file, before, accepted, changes: [] };
}

/** Changes made while the fault lasts (`big`: large enough to need new disk pages). */
function changeDuringFault(world: World, big = false): void {
  if (big) {
    const note = "n".repeat(20_000);
    for (let id = 2; id <= 61; id += 1) world.changes.push({ id, name: world.api.update(id, { name: `during the fault ${id}`, note }).name });
  } else {
    world.changes.push({ id: 2, name: world.api.update(2, { name: "during the fault" }).name });
  }
  const created = world.api.create({ name: "created during the fault" });
  world.changes.push({ id: created.id, name: created.name });
}

function compare(before: StatePeek, after: StatePeek, problems: string[]): boolean {
  let same = true;
  if (JSON.stringify(after.cursors) !== JSON.stringify(before.cursors)) {
    same = false;
    problems.push(`cursor changed: ${JSON.stringify(before.cursors)} → ${JSON.stringify(after.cursors)}`);
  }
  if (after.snapshotDigest !== before.snapshotDigest) {
    same = false;
    problems.push("snapshots changed");
  }
  const missing = Object.keys(before.pending).filter((key) => !(key in after.pending));
  const extra = Object.keys(after.pending).filter((key) => !(key in before.pending));
  if (missing.length || extra.length) {
    same = false;
    problems.push(`outbox changed: ${missing.length} gone, ${extra.length} new`);
  }
  return same;
}

/** After the fault: one run must deliver the accepted event (same id) and every change made meanwhile. */
async function recover(run: CommandRunner, world: World, problems: string[], offsetMs = 2 * HOUR): Promise<{ recovered: boolean; nothingLost: boolean }> {
  world.receiver.reply({ status: 200, body: "ok" });
  const result = await run(["once", "-c", world.config], at(offsetMs));
  const recovered = result.code === 0;
  if (!recovered) problems.push(`recovery once exited ${result.code}: ${result.stderr.slice(-300)}`);
  const ids = new Set(world.receiver.requests.map((r) => String(r.headers["webhook-id"])));
  const names = new Set(world.receiver.bodies<{ data: { object: { name: string } } }>().map((b) => b.data.object.name));
  const lost = [...(ids.has(world.accepted) ? [] : [`accepted event ${world.accepted}`]), ...world.changes.filter((c) => !names.has(c.name)).map((c) => `change of record ${c.id}`)];
  if (lost.length) problems.push(`lost: ${lost.slice(0, 4).join(", ")}${lost.length > 4 ? ` (+${lost.length - 4})` : ""}`);
  return { recovered, nothingLost: lost.length === 0 };
}

function digest(file: string): string {
  const hash = createHash("sha256");
  for (const suffix of ["", "-wal"]) if (existsSync(file + suffix)) hash.update(readFileSync(file + suffix));
  return hash.digest("hex");
}

async function close(world: World | undefined): Promise<void> {
  await world?.api.close();
  await world?.receiver.close();
}

const READ_ONLY = /read-only|readonly/i;
const FULL = /disk is full|SQLITE_FULL|disk or database is full|database or disk is full/i;
const CORRUPT = /not a valid SQLite database|corrupt|malformed|not a database/i;

function newResult(name: string, ran = false): StateFaultResult {
  return { name, ran, reported: false, message: "", exits: [], stateUnchanged: false, nothingLost: false, recovered: false, problems: [] };
}

/**
 * Runs `body` with a tmpfs of `bytes` mounted at `<scratch>/<name>/state` (skipped where mounts
 * are not allowed); a harness error becomes a problem; the mount is gone afterwards.
 */
async function onTmpfs(scratch: Scratch, name: string, bytes: number, result: StateFaultResult, body: (dir: string, mountPoint: string) => Promise<void>): Promise<StateFaultResult> {
  const support = mountSupport();
  if (!support.ok) return { ...result, skipReason: support.reason };
  const dir = scratch.dir(name);
  const mountPoint = join(dir, "state");
  mkdirSync(mountPoint);
  mountTmpfs(mountPoint, bytes);
  try {
    await harness(result, () => body(dir, mountPoint));
  } finally {
    unmount(mountPoint);
  }
  return result;
}

async function harness(result: StateFaultResult, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    result.problems.push(`harness: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** `once` (and `run` when `withDaemon`) during the fault must fail with a line matching `cause`. */
async function failsSaying(run: CommandRunner, world: World, cause: RegExp, fault: string, result: StateFaultResult, withDaemon = false): Promise<void> {
  const once = await run(["once", "-c", world.config], at(HOUR));
  result.exits.push(`once ${once.code}`);
  const line = once.stderr.split("\n").find((l) => cause.test(l)) ?? "";
  result.message = line.trim().slice(0, 240);
  result.reported = once.code === 1 && line !== "";
  if (!result.reported) result.problems.push(`once on ${fault}: exit ${once.code}, stderr: ${once.stderr.slice(-300)}`);
  if (!withDaemon) return;
  const daemon = spawnCli(["run", "-c", world.config], { label: `run on ${fault}`, env: at(HOUR) });
  const ended = await Promise.race([daemon.done.then(() => true), sleep(8000).then(() => false)]);
  const exit = ended ? await daemon.done : await stopCli(daemon);
  result.exits.push(ended ? `run ${exit.code}` : `run kept running (stopped: ${exit.code})`);
  if (!cause.test(exit.stderr)) result.problems.push(`run on ${fault} said nothing clear about it: ${exit.stderr.slice(-300)}`);
  if (ended && exit.code === 0) result.problems.push(`run exited 0 on ${fault}`);
}

async function readOnlyState(run: CommandRunner, scratch: Scratch, withDaemon: boolean): Promise<StateFaultResult> {
  const result = newResult("state on a read-only mount");
  let world: World | undefined;
  return onTmpfs(scratch, "state-ro", 32 * 1024 * 1024, result, async (dir, mountPoint) => {
    try {
      world = await prepare(run, dir, mountPoint);
      result.ran = true;
      const checksum = digest(world.file);
      remount(mountPoint, true);
      changeDuringFault(world);
      world.receiver.reply({ status: 200, body: "ok" });
      await failsSaying(run, world, READ_ONLY, "a read-only state", result, withDaemon);
      result.fileUntouched = digest(world.file) === checksum;
      remount(mountPoint, false);
      result.stateUnchanged = compare(world.before, await peekState(world.file, IDS), result.problems);
      Object.assign(result, await recover(run, world, result.problems));
    } finally {
      await close(world);
    }
  });
}

async function diskFull(run: CommandRunner, scratch: Scratch): Promise<StateFaultResult> {
  const result = newResult("disk full (16 MB tmpfs filled up), between runs");
  let world: World | undefined;
  return onTmpfs(scratch, "state-full", 16 * 1024 * 1024, result, async (dir, mountPoint) => {
    try {
      world = await prepare(run, dir, mountPoint, 80);
      result.ran = true;
      const filler = fillDisk(mountPoint);
      changeDuringFault(world, true);
      world.receiver.reply({ status: 200, body: "ok" });
      await failsSaying(run, world, FULL, "a full disk", result);
      rmSync(filler.file);
      result.stateUnchanged = compare(world.before, await peekState(world.file, IDS), result.problems);
      Object.assign(result, await recover(run, world, result.problems));
    } finally {
      await close(world);
    }
  });
}

/** The disk fills up under a running daemon: the pass fails, deliveries keep their state, it recovers by itself. */
async function diskFullRunning(scratch: Scratch): Promise<StateFaultResult> {
  const result = newResult("disk full under the running daemon");
  return onTmpfs(scratch, "state-full-run", 16 * 1024 * 1024, result, async (dir, mountPoint) => {
    const api = await startFakeRest({ token: SECRETS.restToken });
    const receiver = await startReceiver();
    let daemon: CliProcess | undefined;
    try {
      await diskFillsUnderDaemon(dir, mountPoint, api, receiver, result, (d) => (daemon = d));
    } finally {
      await killLeftover(daemon);
      await api.close();
      await receiver.close();
    }
  });
}

async function diskFillsUnderDaemon(dir: string, mountPoint: string, api: FakeRest, receiver: Receiver, result: StateFaultResult, started: (daemon: CliProcess) => void): Promise<void> {
  api.seed(80);
  const config = writeConfig(dir, { sources: [restSource(api.url)], targets: [target(receiver.url)] }, { stateDir: mountPoint });
  const daemon = spawnCli(["run", "-c", config], { label: "run, disk filling up" });
  started(daemon);
  const admin = new AdminClient(await serverUrl(daemon), SECRETS.adminToken);
  await waitUntil(async () => (await admin.json<{ resources: Array<{ initialized: boolean }> }>("GET", "/api/sources/legacy")).resources[0]!.initialized, 30_000, "baseline", 100);
  result.ran = true;
  receiver.reply({ status: 503 });
  api.update(1, { name: "accepted before the fault" });
  await admin.pass("legacy", "incremental");
  await receiver.waitFor(1, 10_000);
  const file = join(mountPoint, "state.sqlite");
  const before = await peekState(file, IDS);
  const accepted = Object.values(before.pending)[0]!;
  const filler = fillDisk(mountPoint);
  const world: World = { api, receiver, config, file, before, accepted, changes: [] };
  changeDuringFault(world, true);
  const outcomes = await admin.pass("legacy", "incremental");
  const error = outcomes[0]?.error ?? "";
  result.message = error.slice(0, 240);
  result.reported = outcomes[0]?.ok === false && FULL.test(error);
  if (!result.reported) result.problems.push(`the pass on a full disk: ${outcomes[0]?.ok ? "succeeded" : error}`);
  // The accepted delivery's retry comes due (5 s): the receiver takes it; the ack may not be written.
  receiver.reply({ status: 200, body: "ok" });
  await sleep(8000);
  if (!(await admin.healthy()) || daemon.exited()) result.problems.push("the daemon died on a full disk");
  result.exits.push(`daemon alive on the full disk: ${daemon.exited() ? "no" : "yes"}`);
  rmSync(filler.file);
  const after = await peekState(file, IDS);
  // The accepted delivery may have been acked meanwhile (SQLite found room in its log); nothing else may move.
  const acked = !Object.values(after.pending).includes(accepted);
  result.stateUnchanged = compare({ ...before, pending: acked ? {} : before.pending }, { ...after, pending: Object.fromEntries(Object.entries(after.pending).filter(([, id]) => id !== accepted || !acked)) }, result.problems);
  const recoveredPass = await admin.pass("legacy", "incremental");
  result.recovered = recoveredPass[0]?.ok === true;
  if (!result.recovered) result.problems.push(`the first pass after the disk was freed: ${recoveredPass[0]?.error}`);
  const names = (): Set<string> => new Set(receiver.bodies<{ data: { object: { name: string } } }>().map((b) => b.data.object.name));
  await waitUntil(() => world.changes.every((c) => names().has(c.name)) && receiver.requests.some((r) => r.headers["webhook-id"] === accepted), 30_000, "deliveries after the disk was freed").catch(() => undefined);
  const lost = [...(receiver.requests.some((r) => r.headers["webhook-id"] === accepted) ? [] : ["the accepted event"]), ...world.changes.filter((c) => !names().has(c.name)).map((c) => `record ${c.id}`)];
  result.nothingLost = lost.length === 0;
  if (lost.length) result.problems.push(`lost: ${lost.slice(0, 4).join(", ")}`);
  const logs = daemon.stderr();
  if (!FULL.test(logs)) result.problems.push("the daemon's log never said the disk was full");
  const exit = await stopCli(daemon);
  result.exits.push(`stopped with ${exit.code}`);
  if (exit.code !== 0) result.problems.push(`stop exited ${exit.code}`);
}

function corrupt(file: string, how: "header" | "pages"): void {
  const fd = openSync(file, "r+");
  try {
    const size = statSync(file).size;
    const garbage = Buffer.alloc(how === "header" ? 100 : Math.max(0, size - 4096), 0x5a);
    for (let i = 0; i < garbage.length; i += 7) garbage[i] = (i * 31) & 0xff;
    writeSync(fd, garbage, 0, garbage.length, how === "header" ? 0 : 4096);
  } finally {
    closeSync(fd);
  }
}

async function corrupted(run: CommandRunner, scratch: Scratch, how: "header" | "pages", withDaemon: boolean): Promise<StateFaultResult> {
  const result = newResult(how === "header" ? "corrupted SQLite file (garbage header)" : "corrupted SQLite file (garbage pages after the header)", true);
  const dir = scratch.dir(`state-corrupt-${how}`);
  const stateDir = join(dir, "state");
  mkdirSync(stateDir);
  let world: World | undefined;
  await harness(result, async () => {
    try {
      world = await prepare(run, dir, stateDir);
      if (existsSync(`${world.file}-wal`) && statSync(`${world.file}-wal`).size > 0) result.problems.push("note: a WAL file was left after once exited");
      const backup = join(dir, "backup.sqlite");
      copyFileSync(world.file, backup);
      corrupt(world.file, how);
      const checksum = digest(world.file);
      changeDuringFault(world);
      world.receiver.reply({ status: 200, body: "ok" });
      await failsSaying(run, world, CORRUPT, `a corrupted state (${how})`, result, withDaemon);
      result.fileUntouched = digest(world.file) === checksum;
      if (!result.fileUntouched) result.problems.push("the corrupted file was changed (it must be kept as it is for recovery)");
      if (world.receiver.requests.length > 1) result.problems.push(`${world.receiver.requests.length - 1} deliveries went out from a corrupted state`);
      copyFileSync(backup, world.file);
      for (const suffix of ["-wal", "-shm"]) rmSync(world.file + suffix, { force: true });
      result.stateUnchanged = compare(world.before, await peekState(world.file, IDS), result.problems);
      Object.assign(result, await recover(run, world, result.problems));
    } finally {
      await close(world);
    }
  });
  return result;
}

export async function stateFaults(options: { run: CommandRunner; scratch: Scratch; log: Logger; daemon: boolean }): Promise<StateFaultResult[]> {
  const results: StateFaultResult[] = [];
  results.push(await readOnlyState(options.run, options.scratch, options.daemon));
  results.push(await diskFull(options.run, options.scratch));
  if (options.daemon) results.push(await diskFullRunning(options.scratch));
  results.push(await corrupted(options.run, options.scratch, "header", options.daemon));
  results.push(await corrupted(options.run, options.scratch, "pages", options.daemon));
  for (const r of results) if (r.problems.length) options.log(`  state ${r.name}: ${r.problems.join("; ")}`);
  return results;
}

export function stateFaultRows(results: StateFaultResult[]): Row[] {
  return results.map((r) => {
    const real = r.problems.filter((p) => !p.startsWith("note:"));
    const ok = r.ran && r.reported && r.stateUnchanged && r.nothingLost && r.recovered && real.length === 0;
    return {
      suite: "State faults",
      scenario: r.name,
      figures: r.ran
        ? `reported clearly: ${r.reported ? "yes" : "no"} (${r.exits.join(", ")}${r.message ? `; "${r.message}"` : ""}); outbox, snapshots and cursor as they were: ${r.stateUnchanged ? "yes" : "no"}` +
          `${r.fileUntouched !== undefined ? `; file untouched: ${r.fileUntouched ? "yes" : "no"}` : ""}; nothing accepted lost: ${r.nothingLost ? "yes" : "no"}; recovered once the fault was gone: ${r.recovered ? "yes" : "no"}`
        : "not run",
      result: r.ran ? (ok ? "pass" : "FAIL") : "skipped",
      ...(r.skipReason ? { notes: r.skipReason } : real.length ? { notes: real.join("; ") } : {}),
    };
  });
}
