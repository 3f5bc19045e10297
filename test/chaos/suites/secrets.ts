import { join } from "node:path";
import type { ProxiedRequest } from "../lib/proxy.js";
import { startProxy, type ChaosProxy } from "../lib/proxy.js";
import { startReceiver } from "../../helpers/receiver.js";
import { AdminClient } from "../lib/admin.js";
import { killLeftover, serverUrl, sleep, spawnCli, stopCli, waitUntil, type CliProcess } from "../lib/cli.js";
import { writeConfig } from "../lib/config.js";
import { childRunner, type CommandRunner } from "../lib/once.js";
import type { Logger, Row } from "../lib/report.js";
import type { Scratch } from "../lib/scratch.js";
import { scanner, SECRETS, type Leak } from "../lib/secrets.js";
import { SUBJECTS, type Subject } from "../lib/subjects.js";

/**
 * The secrets sweep: one daemon with every source kind (all five, each behind a fault proxy)
 * and every target format, driven into the places secrets like to slip out of — vendor error
 * bodies that echo the request's headers and query, 401s, redirects whose Location carries the
 * token, receivers that echo the signed request back, dead letters keeping response bodies,
 * the test button — then every surface is read: logs, /metrics, every admin API answer, the UI
 * pages, and the CLI's status, validate, dry run, test-target and replay outputs. The leak
 * figure itself (over every suite of the run) is the last row of the table.
 */

export interface SweepResult {
  /** Leaks the scanner found during the sweep. */
  leaks: Leak[];
  surfacesRead: number;
  errorsProvoked: number;
  cleanExit: boolean;
  problems: string[];
}

/** A vendor error that names the credentials it refused, first thing in the body (what error messages quote). */
const echo = (request: ProxiedRequest): string => {
  const header = (name: string): string => String(request.headers[name] ?? "");
  const credentials = [header("authorization").replace(/^Bearer\s+/i, ""), header("x-auth-token"), header("accesskey"), header("secretkey"), header("appkey"), request.query.get("api_token") ?? ""].filter(Boolean);
  return JSON.stringify({ error: `credentials ${credentials.join(" ")} refused for ${request.method} ${request.path}`, echo: { headers: request.headers, body: request.body.slice(0, 500) } });
};

/** The same config with every secret rotated: what the state remembers of the old ones must not show. */
function rotated(config: Record<string, unknown>): Record<string, unknown> {
  const values = new Map(Object.values(SECRETS).map((value) => [value, value.startsWith("whsec_") ? `whsec_${Buffer.from("rotated-signing-key-0001").toString("base64")}` : `ROTATED${value.length}x${value.slice(-3)}`]));
  return JSON.parse(JSON.stringify(config), (_key, value: unknown) => (typeof value === "string" ? [...values].reduce((text, [from, to]) => text.split(from).join(to), value) : value)) as Record<string, unknown>;
}

export async function secretsSweep(options: { scratch: Scratch; log: Logger; run?: CommandRunner }): Promise<SweepResult> {
  const result: SweepResult = { leaks: [], surfacesRead: 0, errorsProvoked: 0, cleanExit: false, problems: [] };
  const leaksBefore = scanner.leaks.length;
  const subjects: Subject[] = [];
  const proxies: ChaosProxy[] = [];
  const receiver = await startReceiver();
  receiver.respond((request) => {
    if (request.path.startsWith("/ff")) return { status: 400, body: `rejected: ${request.body}` };
    if (request.path.startsWith("/fs")) return { status: 500, body: JSON.stringify(request.headers) };
    if (request.path.startsWith("/ce")) return { status: 302, headers: { location: `http://127.0.0.1:9/moved?token=${SECRETS.webhookSecret}&api_token=${SECRETS.targetApiToken}` } };
    return { status: 200, body: "ok" };
  });
  const base = receiver.url.replace(/\/hooks$/, "");
  let daemon: CliProcess | undefined;
  try {
    for (const make of Object.values(SUBJECTS)) {
      const subject = await make();
      subjects.push(subject);
      proxies.push(await startProxy(subject.upstream));
    }
    const dir = options.scratch.dir("secrets");
    const settings = {
      sources: subjects.map((s, i) => s.sourceConfig(proxies[i]!.url)),
      targets: [
        { name: "erp", url: `${base}/erp`, secret: SECRETS.webhookSecret },
        { name: "ff", url: `${base}/ff?key=${SECRETS.targetApiToken}`, format: "fakturownia", api_token: SECRETS.targetApiToken },
        { name: "fs", url: `${base}/fs`, format: "facturascripts", secret: SECRETS.webhookSecret },
        { name: "ce", url: `${base}/ce`, format: "cloudevents", secret: SECRETS.webhookSecret },
      ],
    };
    const config = writeConfig(dir, settings);
    daemon = spawnCli(["run", "-c", config], { label: "secrets sweep daemon", logLevel: "debug" });
    const admin = new AdminClient(await serverUrl(daemon), SECRETS.adminToken);
    await waitUntil(async () => {
      const status = await admin.json<{ sources: Array<{ resources: Array<{ initialized: boolean }>; running: unknown }> }>("GET", "/api/status");
      return status.sources.every((s) => s.running === null && s.resources.every((r) => r.initialized));
    }, 90_000, "first passes of every source", 200);

    const passAll = async (mode: "incremental" | "reconcile"): Promise<void> => {
      for (const subject of subjects) {
        const outcomes = await admin.pass(subject.name, mode);
        result.errorsProvoked += outcomes.filter((o) => !o.ok).length;
      }
    };
    for (const subject of subjects) subject.round(1);
    await passAll("incremental");
    await sleep(1500);
    // Vendor errors that echo what the request carried.
    for (const [i, proxy] of proxies.entries()) proxy.arm({ fault: { kind: "status", status: 400, body: echo }, match: subjects[i]!.isList });
    await passAll("incremental");
    for (const [i, proxy] of proxies.entries()) proxy.arm({ fault: { kind: "redirect", location: (r) => `http://127.0.0.1:9/x?api_token=${SECRETS.fakturowniaToken}&token=${SECRETS.facturascriptsToken}&secret=${SECRETS.wfirmaSecretKey}&${r.query.toString()}` }, match: subjects[i]!.isList });
    await passAll("reconcile");
    for (const proxy of proxies) proxy.disarm();
    await sleep(1500);

    // Every surface.
    const reads = ["/metrics", "/healthz", "/readyz", "/api", "/api/status", "/api/sources", "/api/targets", "/api/log?limit=1000", "/api/dead-letters", "/", "/index.html", "/ui/app.js", "/ui/app.css"];
    for (const subject of subjects) reads.push(`/api/sources/${subject.name}`, `/api/records?source=${subject.name}&resource=${subject.resource}&id=1`);
    for (const name of ["erp", "ff", "fs", "ce"]) reads.push(`/api/targets/${name}`, `/api/dead-letters?target=${name}`, `/api/log?target=${name}&limit=1000`);
    for (const path of reads) {
      await admin.request("GET", path, { auth: !["/metrics", "/healthz", "/readyz"].includes(path) });
      result.surfacesRead += 1;
    }
    const log = await admin.json<Array<{ eventId: string }>>("GET", "/api/log?limit=200");
    for (const id of [...new Set(log.map((e) => e.eventId))].slice(0, 20)) {
      await admin.request("GET", `/api/events/${id}`);
      result.surfacesRead += 1;
    }
    for (const name of ["erp", "ff", "fs", "ce"]) {
      await admin.request("POST", `/api/targets/${name}/test`, { body: "{}" });
      result.surfacesRead += 1;
    }
    await admin.request("GET", "/", { auth: false });
    await admin.request("POST", "/login", { body: "token=wrong", headers: { "content-type": "application/x-www-form-urlencoded" }, auth: false });
    await admin.request("GET", "/api/status", { auth: false, headers: { authorization: `Bearer ${SECRETS.adminToken}-wrong` } });
    result.surfacesRead += 3;
    const exit = await stopCli(daemon);
    result.cleanExit = exit.code === 0;

    const run = options.run ?? childRunner;
    for (const args of [["status"], ["status", "--json"], ["validate"], ["once", "--dry-run"], ["test-target", "ff"], ["test-target", "fs"], ["test-target", "ce"], ["replay", "--dead-letters"], ["once"]]) {
      await run([...args, "-c", config], { RETROHOOK_LOG_LEVEL: "debug" });
      result.surfacesRead += 1;
    }
    // 401s that quote the credentials: two sources suspended, the reason kept in state.
    const suspend = (name: string): boolean => name === "facturascripts" || name === "fakturoid";
    for (const [i, proxy] of proxies.entries()) if (suspend(subjects[i]!.name)) proxy.arm({ fault: { kind: "status", status: 401, body: echo }, match: subjects[i]!.isList });
    for (const args of [["once"], ["status"], ["status", "--json"]]) {
      await run([...args, "-c", config], { RETROHOOK_LOG_LEVEL: "debug" });
      result.surfacesRead += 1;
    }
    // `once` while the other sources answer with an error that quotes their credentials (kept as their last error).
    for (const [i, proxy] of proxies.entries()) if (!suspend(subjects[i]!.name)) proxy.arm({ fault: { kind: "status", status: 400, body: echo }, match: subjects[i]!.isList });
    for (const args of [["once"], ["once", "--reconcile"], ["once", "--dry-run"], ["once"]]) {
      const exit = await run([...args, "-c", config], { RETROHOOK_LOG_LEVEL: "debug" });
      if (exit.code !== 1) result.problems.push(`${args.join(" ")} with every source failing exited ${exit.code}`);
      result.surfacesRead += 1;
    }
    for (const proxy of proxies) proxy.disarm();

    // Every secret rotated: the state still holds errors and dead letters from the old ones.
    const fresh = writeConfig(options.scratch.dir("secrets-rotated"), rotated(settings), { stateDir: join(dir, "state") });
    for (const args of [["status"], ["status", "--json"], ["validate"]]) {
      await run([...args, "-c", fresh], { RETROHOOK_LOG_LEVEL: "debug" });
      result.surfacesRead += 1;
    }
    daemon = spawnCli(["run", "-c", fresh], { label: "secrets sweep daemon after rotation", logLevel: "debug" });
    const after = new AdminClient(await serverUrl(daemon), rotated({ t: SECRETS.adminToken }).t as string);
    for (const path of ["/api/status", "/api/sources", "/api/targets", "/api/log?limit=1000", "/api/dead-letters", "/metrics"]) {
      await after.request("GET", path, { auth: path !== "/metrics" });
      result.surfacesRead += 1;
    }
    await stopCli(daemon);
  } catch (error) {
    result.problems.push(`harness: ${error instanceof Error ? error.message : String(error)}`);
    options.log(`  secrets sweep: ${result.problems[0]}`);
  } finally {
    await killLeftover(daemon);
    for (const proxy of proxies) await proxy.close();
    for (const subject of subjects) await subject.close();
    await receiver.close();
  }
  result.leaks = scanner.leaks.slice(leaksBefore);
  return result;
}

export function secretsSweepRows(result: SweepResult): Row[] {
  const leaksHere = result.leaks.length;
  const ok = result.problems.length === 0 && result.cleanExit && result.errorsProvoked > 0;
  return [
    {
      suite: "Secrets",
      scenario: "sweep: 5 source kinds and 4 target formats, vendor errors echoing credentials, 401s, redirects carrying tokens, receivers echoing requests",
      figures: `source errors provoked ${result.errorsProvoked}; surfaces read ${result.surfacesRead} (logs at debug, /metrics, admin API, UI, status, validate, once and its dry run while sources quote credentials, test-target, replay; again after every secret was rotated); leaks found by this sweep ${leaksHere}; clean stop: ${result.cleanExit ? "yes" : "no"}`,
      result: ok && leaksHere === 0 ? "pass" : "FAIL",
      ...(result.problems.length ? { notes: result.problems.join("; ") } : leaksHere ? { notes: result.leaks.slice(0, 4).map((l) => `${l.secret} (${l.form}) in ${l.surface} of ${l.origin}: …${l.context}…`).join("; ") } : {}),
    },
  ];
}
