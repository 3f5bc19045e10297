import { secretValues } from "../../config/secrets.js";
import type { Config } from "../../config/types.js";
import { EXIT_OK, errorMessage } from "../../errors.js";
import { AdminClient, daemonHoldsState } from "../../server/daemon-client.js";
import { collectStatus, stateView, type ResourceView, type SourceView, type StateView, type StatusView, type SuspensionView, type TargetView } from "../../server/read-model.js";
import { isAccessFact } from "../../sources/facts.js";
import { scrubSecrets } from "../../telemetry/logger.js";
import { configFor, type Io } from "../io.js";
import { readStateFile } from "../state-file.js";
import type { Command } from "./command.js";

export const statusCommand: Command = {
  name: "status",
  summary: "sources (cursor, last pass, counts, suspensions, held deletions) and targets (outbox, dead letters)",
  help: `Usage: retrohook status [--json] [-c FILE]

Per source and resource: status, cursor (as the vendor writes it), last pass, records known,
suspensions (with the next automatic probe and the command that lifts them), held deletions, the
last error and what the source learned about the vendor account. Per target: outbox depth, oldest
pending event, dead letters, pause and the last attempt. While the daemon runs, asks its admin
API (server.listen, admin_token) and also shows next passes and each target's breaker (open
since when, next probe); otherwise reads the state file without changing it.

  --json   the same as JSON (the admin API's GET /api/status)
`,
  options: { json: { type: "boolean" } },
  async run(values, io) {
    const config = configFor(values.config as string | undefined, io);
    const view = await readStatus(config, io);
    // Errors kept in state quote vendors' answers: scrub them as the admin API does.
    io.out(scrubSecrets(values.json ? `${JSON.stringify(view, null, 2)}\n` : renderStatus(view), secretValues(config)));
    return EXIT_OK;
  },
};

async function readStatus(config: Config, io: Io): Promise<StatusView & { state?: StateView }> {
  if (await daemonHoldsState(config.state.url)) {
    try {
      const client = new AdminClient(config, 15_000);
      const view = await client.request<StatusView>("GET", "/api/status");
      const state = await client.request<StateView>("GET", "/api/state").catch(() => undefined);
      return { ...view, ...(state ? { state } : {}) };
    } catch (error) {
      io.err(`note: ${errorMessage(error)}; reading the state file instead (no live schedule or breaker state)\n`);
    }
  }
  return readStateFile(config, io, async (view) => ({ ...(await collectStatus(view)), state: await stateView(config, view.store) }));
}

/** Two readable tables: sources with their resources, then targets. */
export function renderStatus(view: StatusView & { state?: StateView }): string {
  const lines: string[] = [];
  const sourceRows: string[][] = [["SOURCE / RESOURCE", "STATUS", "CURSOR", "LAST PASS", "RECORDS", "SUSPENDED", "HELD DELETIONS", "NEXT PASS / LAST ERROR"]];
  for (const source of view.sources) {
    sourceRows.push([source.name, source.health, "", time(source.lastPassAt), "", source.suspended ? `${suspensionText(source.suspended)} (lift: retrohook resume --source ${source.name})` : "-", "", sourceNote(source)]);
    for (const resource of source.resources) {
      sourceRows.push([
        `  ${resource.name}`,
        resourceHealth(resource),
        resource.cursorText === null || resource.cursorText === undefined ? "-" : clip(resource.cursorText, 60),
        time(resource.lastPassAt),
        String(resource.records),
        resource.suspended ? `${suspensionText(resource.suspended)} (lift: retrohook resume --source ${source.name} --resource ${resource.name})` : "-",
        resource.heldDeletions ? `${resource.heldDeletions.count} since ${resource.heldDeletions.at}` : resource.awaitingConfirmation ? `${resource.awaitingConfirmation} awaiting confirmation` : "-",
        resource.lastError ? clip(resource.lastError.message, 100) : resource.waiting ? "waiting for a first non-empty listing (no baseline yet)" : "",
      ]);
    }
  }
  lines.push(table(sourceRows), "");
  const facts = view.sources.flatMap((source) => source.facts.map((fact) => `  ${source.name}: ${fact.text ?? fact.name} (since ${fact.since}${isAccessFact(fact.name) ? `; tried again every reprobe, or at once with retrohook resume --source ${source.name}` : ""})`));
  if (facts.length > 0) lines.push("learned about the vendor accounts (retrohook reset --source forgets them):", ...facts, "");
  const targetRows: string[][] = [["TARGET", "STATUS", "OUTBOX", "OLDEST PENDING", "DEAD LETTERS", "PAUSED", "BREAKER", "LAST ATTEMPT"]];
  for (const target of view.targets) {
    targetRows.push([
      target.name,
      target.health,
      String(target.pending),
      target.oldestPending ? `${target.oldestPending.ageSeconds} s` : "-",
      String(target.deadLetters),
      target.paused ? `since ${target.paused.at}` : "-",
      breakerText(target.breaker),
      lastAttempt(target),
    ]);
  }
  lines.push(view.targets.length > 0 ? table(targetRows) : "no targets: detection only", "");
  const connections = view.targets.filter((target) => target.connection);
  for (const target of connections) lines.push(`${target.name}: ${connectionText(target.connection!)}`);
  if (connections.length > 0) lines.push("");
  const held = view.sources.flatMap((s) => s.resources.filter((r) => r.heldDeletions).map((r) => `retrohook reset --source ${s.name} --resource ${r.name} --accept-deletes`));
  if (held.length > 0) lines.push("held deletions are released, after checking the source, with:", ...held.map((c) => `  ${c}`), "");
  if (view.cluster) {
    const cluster = view.cluster;
    const replicaRows: string[][] = [["REPLICA", "HOST", "VERSION", "LAST HEARTBEAT", "STATE", "SOURCES HELD"]];
    for (const r of cluster.replicas) {
      replicaRows.push([r.id === cluster.replica ? `${r.id} (this)` : r.id, `${r.host} pid ${r.pid}`, r.version, r.heartbeatAt, r.draining ? "draining" : r.live ? "live" : "silent", r.sources.filter((s) => s !== "*").join(", ") || "-"]);
    }
    const ownerRows: string[][] = [["SOURCE", "OWNER", "TOKEN", "LEASE UNTIL"]];
    for (const source of view.sources) {
      const lease = cluster.owners[source.name];
      ownerRows.push([source.name, lease?.valid ? lease.owner : "- (free: taken at the next round)", lease ? String(lease.token) : "-", lease?.expiresAt ?? "-"]);
    }
    lines.push(table(replicaRows), "", table(ownerRows), "");
  }
  if (view.state) lines.push(...stateLines(view.state), "");
  if (!view.daemon) lines.push("(read from the state file; the daemon is not running or not reachable)", "");
  return `${lines.join("\n")}`;
}

/** State size per kind, the retention policy, what was pruned and how long a pruning step took. */
export function stateLines(state: StateView): string[] {
  const mib = (bytes: number): string => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);
  const rows: string[][] = [["STATE", "ENTRIES", "SIZE", "KEPT"]];
  const kept: Partial<Record<string, string>> = { events: state.retention.events, fixed_bodies: state.retention.events, pass_journal: state.retention.events, delivery_log: state.retention.delivery_log, dead_letters: state.retention.dead_letters };
  for (const [kind, size] of Object.entries(state.sizes.kinds)) {
    const horizon = state.prunedBefore[kind as keyof StateView["prunedBefore"]];
    rows.push([kind.replace("_", " "), String(size.count), mib(size.bytes), kept[kind] ? `${kept[kind]}${horizon ? ` (pruned before ${horizon})` : ""}` : "-"]);
  }
  const file = state.backend === "sqlite" ? `file ${mib(state.sizes.fileBytes)}, ${mib(state.sizes.freeBytes)} free` : `tables ${mib(state.sizes.fileBytes)} with indexes`;
  const lines = [table(rows), `${state.backend}: ${file}; space: ${state.sizes.reclaim}`];
  const sweep = state.sweeps?.lastSweep;
  if (state.sweeps && sweep) {
    const removed = Object.values(sweep.removed).reduce((n, count) => n + count, 0);
    lines.push(`retention: ${state.sweeps.sweeps} sweeps, the last at ${sweep.at} removed ${removed} entries in ${sweep.ms} ms; longest step ${state.sweeps.maxStepMs.toFixed(1)} ms${state.sweeps.ticks?.duringSteps ? `; ${state.sweeps.ticks.duringSteps} pass ticks fell due during a step, run at most ${Math.round(state.sweeps.ticks.maxLateDuringStepMs)} ms late` : ""}`);
  }
  return lines;
}

function sourceNote(source: SourceView): string {
  const notes: string[] = [];
  if (source.running) notes.push(`${source.running.mode} pass running`);
  else if (source.nextPass?.incremental) notes.push(`next ${source.nextPass.incremental}`);
  if (source.backoff) notes.push(`backing off until ${source.backoff.until}`);
  if (source.budget) notes.push(`budget ${source.budget.used}/${source.budget.requests} per ${source.budget.per}`);
  if (source.suspended) notes.push(clip(source.suspended.reason, 100));
  return notes.join("; ");
}

function resourceHealth(resource: ResourceView): string {
  if (resource.suspended) return "suspended";
  if (resource.lastError) return "failing";
  if (resource.heldDeletions) return "held";
  return resource.initialized ? "ok" : resource.waiting ? "waiting" : "new";
}

function lastAttempt(target: TargetView): string {
  const last = target.lastAttempt;
  if (!last) return "none yet";
  return clip(`${last.outcome}${last.status !== null ? ` HTTP ${last.status}` : ""} at ${last.at}${last.error ? `: ${last.error}` : ""}`, 110);
}

/** `since …, next probe …`: a suspension is tried again by itself every `reprobe`. */
function suspensionText(suspension: SuspensionView): string {
  return `since ${suspension.at}${suspension.nextProbeAt ? `, next probe ${suspension.nextProbeAt}` : ""}`;
}

/** `closed`, `closed (2 failures)`, `open since …, next probe …`; `-` when the daemon does not run (the breaker lives in it). */
export function breakerText(breaker: TargetView["breaker"]): string {
  if (!breaker) return "-";
  const failures = breaker.failures > 0 ? ` (${breaker.failures} failure${breaker.failures === 1 ? "" : "s"})` : "";
  if (breaker.status === "closed") return `closed${failures}`;
  return `open since ${breaker.openedAt ?? "?"}, next probe ${breaker.probeAt ?? "?"}${failures}`;
}

function time(iso: string | null): string {
  return iso ?? "never";
}

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

/** `connected since …`, `reconnecting since … (last error: …)`, `down since … (last error: …)`; `idle`: nothing sent yet. */
export function connectionText(connection: { state: string; since: string; lastError: string | null }): string {
  const state = connection.state === "idle" ? "not connected yet (nothing sent)" : `broker ${connection.state} since ${connection.since}`;
  return connection.lastError && connection.state !== "connected" ? `${state} (last error: ${connection.lastError})` : state;
}
