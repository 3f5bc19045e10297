import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { percentile } from "../../../bench/report.js";
import { startTestPostgres } from "../../helpers/postgres.js";
import { startReceiver } from "../../helpers/receiver.js";
import { sleep, waitUntil } from "../lib/cli.js";
import { auditFigures, clusterTablesReady, installAudit, leaseGrants, leasesHeldBy, sourcesHeldBy, type AuditFigures } from "../lib/cluster-audit.js";
import { target, writeConfig } from "../lib/config.js";
import { seededRandom, type ChangeKind, type DeliveryFigures } from "../lib/ledger.js";
import { REPLICA_VARIABLE, ReplicaSet, type Incarnation } from "../lib/replicas.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { SECRETS } from "../lib/secrets.js";
import { startVendorFleet, vendorOverlaps, type VendorRequest } from "../lib/vendor-fleet.js";

/**
 * Replicas under faults: three `retrohook run` processes with one config and one PostgreSQL
 * state (`cluster: {lease}`), a vendor with many sources changing all the time, and a stream of
 * faults — SIGKILL of a random replica (restarted a moment later), SIGSTOP of a source's owner
 * for longer than its lease (then SIGCONT), and restarts of the database. Afterwards:
 * - every record's final state reached the receiver, duplicates only under their first
 *   webhook-id, per-record order kept (the ledgers of lib/ledger.ts, per source);
 * - no two replicas listed one source at the same time, nor in the same tick (the vendor's log);
 * - no write of a stale lease was accepted and no write of a pass went unfenced (SQL on audit
 *   triggers, lib/cluster-audit.ts — not the replicas' logs);
 * - takeover time — from the kill or SIGSTOP of an owner to the first listing of each source it
 *   held by another replica — p99 ≤ lease + one schedule interval. A kill or stop hits a full
 *   cluster (every replica joined) and the next fault waits until its takeover window is over,
 *   so a database restart is never timed as a takeover.
 */

export interface ClusterChaosOptions {
  sources: number;
  changes: number;
  kills: number;
  stops: number;
  dbRestarts: number;
  replicas?: number;
  leaseMs?: number;
  scheduleS?: number;
  seed?: number;
  scratch: Scratch;
  log: Logger;
}

interface Outage {
  kind: "kill" | "stop";
  victim: string;
  at: number;
  held: string[];
  /** The victim's leases at the outage (token, expiry by the database's clock), when the database answered. */
  leases?: Array<{ source: string; token: number; expiresAt: number }>;
}

/** Where takeover time goes (ms, one entry per source taken over whose lease was read at the outage). */
export interface TakeoverBreakdown {
  /** Outage → the victim's lease expiry. */
  toExpiry: number[];
  /** Lease expiry → the grant to another replica. */
  expiryToGrant: number[];
  /** Grant → the new owner's first listing. */
  grantToList: number[];
}

export interface ClusterChaosResult {
  sources: number;
  replicas: number;
  leaseMs: number;
  scheduleMs: number;
  kills: number;
  stops: number;
  dbRestarts: number;
  made: Record<ChangeKind, number>;
  figures: DeliveryFigures & { perSourceLost: Record<string, number> };
  overlaps: { inFlight: number; sameTick: number; examples: string[] };
  audit?: AuditFigures;
  auditError?: string;
  takeovers: number[];
  breakdown: TakeoverBreakdown;
  /** Outages where a source the victim held was not listed by another replica before the run ended. */
  neverTakenOver: string[];
  vendorRequests: number;
  unexpectedExits: string[];
  cleanExits: boolean;
  durationMs: number;
}

export async function clusterChaos(options: ClusterChaosOptions): Promise<ClusterChaosResult> {
  const started = Date.now();
  const random = seededRandom(options.seed ?? 20261207);
  const replicaCount = options.replicas ?? 3;
  const leaseMs = options.leaseMs ?? 3000;
  const scheduleS = options.scheduleS ?? 2;
  const server = await startTestPostgres({ flags: ["-c", "track_commit_timestamp=on"] });
  const fleet = await startVendorFleet({ sources: options.sources, seedRecords: 12, liveTarget: 40 });
  const receiver = await startReceiver();
  receiver.respond(() => ({ status: 200, body: "ok", delayMs: Math.floor(random() * 20) }));
  const stateUrl = server.freshUrl();
  const dir = options.scratch.dir("cluster");
  const config = writeConfig(
    dir,
    {
      cluster: { lease: `${leaseMs / 1000}s` },
      sources: fleet.sourceConfigs(REPLICA_VARIABLE, { schedule: `*/${scheduleS} * * * * *`, reconcile: `*/${scheduleS * 2} * * * * *` }),
      targets: [target(receiver.url, { concurrency: 4, timeout: `${Math.min(2000, Math.floor(leaseMs / 2))}ms` })],
    },
    { stateUrl },
  );
  fleet.baseline();
  const replicas = new ReplicaSet(config, replicaCount);
  const outages: Outage[] = [];
  let dbRestarts = 0;
  let changing = true;
  let audit: AuditFigures | undefined;
  let auditError: string | undefined;
  let cleanExits = false;
  let grants: Awaited<ReturnType<typeof leaseGrants>> = [];
  try {
    // The first replica alone creates the schema and baselines every source; then the audit
    // triggers go in and the others join.
    const first = replicas.start(0);
    await first.proc.waitForStderr(/"msg":"retrohook running"/, 60_000);
    await waitUntil(() => clusterTablesReady(stateUrl), 30_000, "the replicas' tables", 200);
    await installAudit(stateUrl);
    await waitUntil(() => new Set(fleet.requests.filter((r) => r.list && r.status === 200).map((r) => r.source)).size === options.sources, 60_000, "a first listing of every source", 100);
    await sleep(2 * scheduleS * 1000);
    for (let slot = 1; slot < replicaCount; slot += 1) replicas.start(slot);
    options.log(`cluster: ${replicaCount} replicas on ${options.sources} sources (lease ${leaseMs} ms, schedule ${scheduleS} s)`);

    // The faults in a random order; the changes flow meanwhile at a rate that spreads them over the plan.
    const plan: Array<Outage["kind"] | "db"> = [...Array<"kill">(options.kills).fill("kill"), ...Array<"stop">(options.stops).fill("stop"), ...Array<"db">(options.dbRestarts).fill("db")];
    for (let i = plan.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    const plannedMs = (options.kills + options.stops) * (leaseMs + scheduleS * 1000 + 1500) + options.dbRestarts * 5_000;
    const changeEveryMs = plannedMs / options.changes;
    const changer = (async () => {
      const began = Date.now();
      while (changing) {
        const due = Math.min(options.changes, Math.floor((Date.now() - began) / changeEveryMs));
        while (fleet.changes < due) fleet.randomChange(random);
        if (fleet.changes >= options.changes) break;
        await sleep(20);
      }
    })();

    for (const [index, fault] of plan.entries()) {
      // A kill or a stop is judged against a full cluster: every replica restarted so far has
      // joined (under load that takes seconds), so someone is there to take the victim's sources.
      if (fault !== "db" && !(await replicas.allJoined(60_000))) options.log(`cluster: fault ${index + 1} (${fault}) starts before every replica joined (60 s)`);
      if (fault === "db") {
        await server.stopServer!();
        await sleep(1000 + Math.floor(random() * 2000));
        await server.startServer!();
        dbRestarts += 1;
        await sleep(2000 + Math.floor(random() * 1500));
      } else if (fault === "kill") {
        const victim = pick(replicas.working(), random);
        if (victim) {
          const { held, leases } = await heldBy(stateUrl, victim, fleet.requests);
          const at = Date.now();
          await replicas.kill(victim);
          outages.push({ kind: "kill", victim: victim.id, at, held, ...(leases ? { leases } : {}) });
          await sleep(500 + Math.floor(random() * 2000));
          replicas.start(victim.slot);
        }
        await sleep(800 + Math.floor(random() * 1200));
      } else {
        // A replica that owns sources, paused past its lease.
        const owner = await someOwner(stateUrl, replicas, random);
        if (owner) {
          const { held, leases } = await heldBy(stateUrl, owner, fleet.requests);
          const at = Date.now();
          replicas.stop(owner);
          outages.push({ kind: "stop", victim: owner.id, at, held, ...(leases ? { leases } : {}) });
          await sleep(leaseMs + 1000 + Math.floor(random() * 1500));
          replicas.cont(owner);
        }
        await sleep(1000 + Math.floor(random() * 1500));
      }
      // The next fault waits until this outage's takeover window (lease + one interval) is over:
      // a database restart or a second kill inside it would be timed as this takeover.
      const last = outages.at(-1);
      if (fault !== "db" && last) await sleep(Math.max(0, last.at + leaseMs + scheduleS * 1000 + 1000 - Date.now()));
      for (const slot of replicas.slots()) if (slot.proc.exited() && !slot.endedBy) replicas.start(slot.slot);
      if ((index + 1) % 10 === 0) options.log(`cluster: ${index + 1}/${plan.length} faults, ${fleet.changes} changes, ${receiver.requests.length} deliveries`);
    }
    changing = false;
    await changer;
    while (fleet.changes < options.changes) fleet.randomChange(random);
    options.log(`cluster: faults done (${replicas.kills} kills, ${replicas.stops} stops, ${dbRestarts} database restarts); waiting for every final state`);
    await waitUntil(() => fleet.verify(receiver.requests, SECRETS.webhookSecret).lost === 0, 180_000, "every final state delivered", 500).catch(() => undefined);
    await sleep(2000);
    // Every replica up before the SIGTERMs: the clean stop judged is a running replica's drain.
    await replicas.allJoined(60_000);
    const exits = await replicas.stopAll();
    cleanExits = exits.every((exit) => exit.code === 0);
    try {
      grants = await leaseGrants(stateUrl);
      audit = await auditFigures(stateUrl);
    } catch (error) {
      auditError = error instanceof Error ? error.message : String(error);
    }
  } finally {
    changing = false;
    await replicas.killLeftovers();
    await receiver.close();
    await fleet.close();
    await server.stop();
  }
  const { takeovers, neverTakenOver } = takeoverTimes(outages, fleet.requests);
  const breakdown = takeoverBreakdown(outages, grants, fleet.requests);
  const debug = process.env.CHAOS_CLUSTER_DEBUG;
  if (debug) {
    // Diagnostics: the outages, the vendor's log, the deliveries and every replica's log lines.
    mkdirSync(debug, { recursive: true });
    writeFileSync(join(debug, "outages.json"), JSON.stringify(outages, null, 1));
    writeFileSync(join(debug, "vendor.json"), JSON.stringify(fleet.requests));
    writeFileSync(join(debug, "deliveries.json"), JSON.stringify(receiver.requests.map((r) => ({ at: r.at, body: JSON.parse(r.body) as unknown }))));
    for (const i of replicas.all) writeFileSync(join(debug, `${i.id}.log`), i.proc.stderr());
  }
  return {
    sources: options.sources,
    replicas: replicaCount,
    leaseMs,
    scheduleMs: scheduleS * 1000,
    kills: replicas.kills,
    stops: replicas.stops,
    dbRestarts,
    made: fleet.made(),
    figures: fleet.verify(receiver.requests, SECRETS.webhookSecret),
    overlaps: vendorOverlaps(fleet.requests, scheduleS * 1000),
    ...(audit ? { audit } : {}),
    ...(auditError ? { auditError } : {}),
    takeovers,
    breakdown,
    neverTakenOver,
    vendorRequests: fleet.requests.length,
    unexpectedExits: replicas.unexpectedExits,
    cleanExits,
    durationMs: Date.now() - started,
  };
}

function pick<T>(list: readonly T[], random: () => number): T | undefined {
  return list.length ? list[Math.floor(random() * list.length)] : undefined;
}

/** Sources the replica holds: from its leases; the vendor's view (who listed each source last) when the database does not answer. */
async function heldBy(stateUrl: string, replica: Incarnation, requests: readonly VendorRequest[]): Promise<{ held: string[]; leases?: Outage["leases"] }> {
  try {
    const leases = await leasesHeldBy(stateUrl, replica.id);
    return { held: leases.map((l) => l.source), leases };
  } catch {
    const last = new Map<string, string>();
    for (const r of requests) if (r.list) last.set(r.source, r.replica);
    return { held: [...last].filter(([, who]) => who === replica.id).map(([source]) => source) };
  }
}

/** A working replica that holds at least one source (waits up to 15 s for one). */
async function someOwner(stateUrl: string, replicas: ReplicaSet, random: () => number): Promise<Incarnation | undefined> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const owners: Incarnation[] = [];
    for (const candidate of replicas.working()) if ((await sourcesHeldBy(stateUrl, candidate.id).catch((): string[] => [])).length > 0) owners.push(candidate);
    const owner = pick(owners, random);
    if (owner) return owner;
    await sleep(500);
  }
  return undefined;
}

/** Per outage and held source: ms from the outage to the first listing of that source by another replica. */
function takeoverTimes(outages: readonly Outage[], requests: readonly VendorRequest[]): { takeovers: number[]; neverTakenOver: string[] } {
  const lists = requests.filter((r) => r.list).sort((a, b) => a.start - b.start);
  const takeovers: number[] = [];
  const neverTakenOver: string[] = [];
  for (const outage of outages) {
    for (const source of outage.held) {
      const next = lists.find((r) => r.source === source && r.start >= outage.at && r.replica !== outage.victim);
      if (next) takeovers.push(next.start - outage.at);
      else neverTakenOver.push(`${source} after the ${outage.kind} of ${outage.victim}`);
    }
  }
  return { takeovers, neverTakenOver };
}

/**
 * Per outage and held source whose lease was read at the outage: outage → its expiry → the grant
 * to another replica (lease_grants) → that replica's first listing (the vendor's log).
 */
function takeoverBreakdown(outages: readonly Outage[], grants: ReadonlyArray<{ source: string; token: number; owner: string; at: number }>, requests: readonly VendorRequest[]): TakeoverBreakdown {
  const lists = requests.filter((r) => r.list).sort((a, b) => a.start - b.start);
  const out: TakeoverBreakdown = { toExpiry: [], expiryToGrant: [], grantToList: [] };
  for (const outage of outages) {
    for (const lease of outage.leases ?? []) {
      const grant = grants.find((g) => g.source === lease.source && g.token > lease.token && g.owner !== outage.victim);
      const list = grant && lists.find((r) => r.source === lease.source && r.start >= grant.at && r.replica === grant.owner);
      if (!grant || !list) continue;
      out.toExpiry.push(lease.expiresAt - outage.at);
      out.expiryToGrant.push(grant.at - lease.expiresAt);
      out.grantToList.push(list.start - grant.at);
    }
  }
  return out;
}

export function clusterChaosRows(result: ClusterChaosResult): Row[] {
  const f = result.figures;
  const made = result.made;
  const a = result.audit;
  const p99 = result.takeovers.length ? percentile(result.takeovers, 99) : undefined;
  const p50 = result.takeovers.length ? percentile(result.takeovers, 50) : undefined;
  const bound = result.leaseMs + result.scheduleMs;
  const deliveryOk = f.lost === 0 && f.splitIds === 0 && f.inconsistent === 0 && f.orderViolations === 0 && f.badSignatures === 0 && f.idMismatches === 0 && f.falseDeletes === 0;
  // Ticks listed by two replicas are shown, not judged: a pass started late falls in the next tick's window.
  const overlapOk = result.overlaps.inFlight === 0;
  const fencingOk = a !== undefined && a.staleAccepted === 0 && a.staleByStamps === 0 && a.unfenced === 0 && a.fencedTransactions > 0;
  const takeoverOk = result.takeovers.length > 0 && p99 !== undefined && p99 <= bound && result.neverTakenOver.length === 0;
  const processOk = result.unexpectedExits.length === 0 && result.cleanExits;
  const ok = deliveryOk && overlapOk && fencingOk && takeoverOk && processOk;
  const seconds = (ms: number | undefined) => (ms === undefined ? "n/a" : `${(ms / 1000).toFixed(2)} s`);
  const spread = (list: number[]) => (list.length ? `${seconds(percentile(list, 50))}/${seconds(percentile(list, 99))}` : "n/a");
  const notes = [
    ...f.problems.slice(0, 4),
    ...result.overlaps.examples.slice(0, 2),
    ...(a?.examples.slice(0, 3) ?? []),
    ...(result.auditError ? [`audit: ${result.auditError}`] : []),
    ...result.neverTakenOver.slice(0, 3).map((s) => `never taken over: ${s}`),
    ...result.unexpectedExits.slice(0, 2),
  ];
  return [
    {
      suite: "Cluster",
      scenario:
        `${result.replicas} replicas on one PostgreSQL, ${result.sources} sources (lease ${result.leaseMs / 1000} s, schedule every ${result.scheduleMs / 1000} s): ` +
        `${result.kills} SIGKILLs of random replicas (restarted), ${result.stops} SIGSTOPs of an owner past its lease (then SIGCONT), ${result.dbRestarts} database restarts`,
      figures:
        `changes made ${made.create + made.update + made.pay + made.delete}; observable final states ${f.finalStates}, delivered ${f.delivered}, lost ${f.lost}; ` +
        `events delivered ${f.distinctEvents} in ${f.requests} requests, duplicates ${f.duplicates} (all with the first webhook-id: ${f.splitIds === 0 ? "yes" : `no, ${f.splitIds}`}); ` +
        `per-record order violations ${f.orderViolations}, inconsistent ${f.inconsistent}, false deletes ${f.falseDeletes}; ` +
        `passes of one source overlapping in time ${result.overlaps.inFlight} (vendor log: two replicas listing one source at once), ticks listed by two replicas ${result.overlaps.sameTick}; ` +
        (a
          ? `writes accepted from a stale lease ${a.staleAccepted} (SQL: fenced write transactions committed after a newer grant; by the feature's stamps ${a.staleByStamps}), unfenced pass writes ${a.unfenced}${a.unfenced ? ` (${Object.entries(a.unfencedByTable).map(([k, v]) => `${k} ${v}`).join(", ")})` : ""} (delivery acks, retries and dead letters, unfenced by design: ${a.deliveryWrites}), fenced write transactions ${a.fencedTransactions}, fence rejections ${a.rejections}, lease grants ${a.grants} (${Object.entries(a.grantsByReason).map(([k, v]) => `${k} ${v}`).join(", ")}); `
          : "writes accepted from a stale lease: not checked; ") +
        `takeover time p50 ${seconds(p50)}, p99 ${seconds(p99)}, max ${seconds(result.takeovers.length ? Math.max(...result.takeovers) : undefined)} over ${result.takeovers.length} sources taken over (bound: lease + schedule = ${seconds(bound)}; ` +
        `p50/p99 of outage → lease expiry ${spread(result.breakdown.toExpiry)}, expiry → grant ${spread(result.breakdown.expiryToGrant)}, grant → first listing ${spread(result.breakdown.grantToList)}); ` +
        `unexpected exits ${result.unexpectedExits.length}; clean stop of every replica: ${result.cleanExits ? "yes" : "no"}; ${Math.round(result.durationMs / 1000)} s`,
      result: ok ? "pass" : "FAIL",
      ...(ok || notes.length === 0 ? {} : { notes: notes.join("; ") }),
    },
  ];
}

