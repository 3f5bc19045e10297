import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCli } from "./lib/build.js";
import { ROOT, useBuiltCli } from "./lib/cli.js";
import { markdownTable, type Logger, type Row } from "./lib/report.js";
import { Scratch } from "./lib/scratch.js";
import { scanner } from "./lib/secrets.js";
import { childRunner } from "./lib/once.js";
import { adminFuzz, badConfigs, badInputRows } from "./suites/bad-input.js";
import { brokerRestartRows, brokerRestarts } from "./suites/broker-restarts.js";
import { clusterChaos, clusterChaosRows } from "./suites/cluster.js";
import { crashLoop, crashLoopRows } from "./suites/crash-loop.js";
import { hardening, HARDENING_FULL, HARDENING_REDUCED } from "./suites/hardening.js";
import { postgresChaos } from "./suites/postgres.js";
import { secretsSweep, secretsSweepRows } from "./suites/secrets.js";
import { soak, soakRows } from "./suites/soak.js";
import { sourceFaultRows, sourceFaults } from "./suites/source-faults.js";
import { stateFaultRows, stateFaults } from "./suites/state-faults.js";
import { targetFaultRows, targetFaults } from "./suites/target-faults.js";

/**
 * `npm run chaos [-- --reduced] [-- --only=crash,source,target,state,input,secrets,postgres,cluster,broker,hardening,soak] [-- --tsx]`
 *
 * Runs the reliability and security suites against the real CLI on 127.0.0.1 and prints the
 * figures table. `--reduced` (CI) runs every suite at a small size in a few minutes; the full run
 * (the issue's sizes: 100 kills over 2,000 changes, a 1-hour soak with 10-minute retention) also writes the table to
 * test/chaos/results.md. Exit 1 when an acceptance figure fails (lost, false deletes, wrong
 * cursor moves, leaks …), 2 when the harness itself breaks.
 */

interface Sizes {
  /** Crash loop of the generic REST source (the issue's figure). */
  kills: number;
  changes: number;
  /** Crash loops of the four vendor presets, run beside it. */
  presetKills: number;
  /** PostgreSQL state: the crash loop's kills and changes, and database restarts under load. */
  pgKills: number;
  pgChanges: number;
  pgRestarts: number;
  pgRestartChanges: number;
  /** Replicas on one PostgreSQL: sources, changes, kills, SIGSTOPs of an owner, database restarts. */
  cluster: { sources: number; changes: number; kills: number; stops: number; dbRestarts: number };
  soakMs: number;
  soakBaselineMs: number;
  soakRate: number;
  /** `state.retention` of the soak, its sweep interval and the window the state size must level off in. */
  soakRetention: string;
  soakSweepMs: number;
  soakWindowMs: number;
  fuzzRequests: number;
  subjects: string[];
}

const ALL_SUBJECTS = ["rest", "fakturownia", "facturascripts", "wfirma", "fakturoid"];
const FULL: Sizes = { kills: 100, changes: 2000, presetKills: 30, pgKills: 100, pgChanges: 2000, pgRestarts: 10, pgRestartChanges: 1000, cluster: { sources: 24, changes: 5000, kills: 60, stops: 10, dbRestarts: 5 }, soakMs: 3_600_000, soakBaselineMs: 60_000, soakRate: 40, soakRetention: "10m", soakSweepMs: 30_000, soakWindowMs: 1_800_000, fuzzRequests: 1000, subjects: ALL_SUBJECTS };
const REDUCED: Sizes = { kills: 12, changes: 240, presetKills: 5, pgKills: 8, pgChanges: 160, pgRestarts: 3, pgRestartChanges: 120, cluster: { sources: 20, changes: 800, kills: 10, stops: 3, dbRestarts: 2 }, soakMs: 180_000, soakBaselineMs: 20_000, soakRate: 40, soakRetention: "40s", soakSweepMs: 5_000, soakWindowMs: 90_000, fuzzRequests: 200, subjects: ALL_SUBJECTS };

type Suite = (context: { sizes: Sizes; reduced: boolean; scratch: Scratch; log: Logger }) => Promise<Row[]>;

const SUITES: Record<string, Suite> = {
  crash: async ({ sizes, scratch, log }) => {
    const runs = await Promise.all([
      crashLoop({ world: "rest", kills: sizes.kills, changes: sizes.changes, scratch, log }),
      (async () => {
        const presets = [];
        for (const world of ["fakturownia", "facturascripts", "wfirma", "fakturoid"]) presets.push(await crashLoop({ world, kills: sizes.presetKills, changes: sizes.presetKills * 20, scratch, log: () => undefined }));
        return presets;
      })(),
    ]);
    return [runs[0], ...runs[1]].flatMap(crashLoopRows);
  },
  source: async ({ sizes, scratch, log }) => sourceFaultRows(await sourceFaults({ subjects: sizes.subjects, driver: "daemon", scratch, log })),
  target: async ({ scratch, log }) => targetFaultRows(await targetFaults({ run: childRunner, scratch, log, parallel: 4 })),
  state: async ({ scratch, log }) => stateFaultRows(await stateFaults({ run: childRunner, scratch, log, daemon: true })),
  input: async ({ sizes, scratch, log }) => {
    const configs = await badConfigs({ run: childRunner, scratch, parallel: 4 });
    return badInputRows(configs, await adminFuzz({ scratch, log, randomRequests: sizes.fuzzRequests }));
  },
  secrets: async ({ scratch, log }) => secretsSweepRows(await secretsSweep({ scratch, log, run: childRunner })),
  postgres: async ({ sizes, scratch, log }) =>
    postgresChaos({ kills: sizes.pgKills, changes: sizes.pgChanges, restarts: sizes.pgRestarts, restartChanges: sizes.pgRestartChanges, scratch, log }),
  cluster: async ({ sizes, scratch, log }) => clusterChaosRows(await clusterChaos({ ...sizes.cluster, scratch, log })),
  broker: async ({ reduced, log }) => {
    const restarts = reduced ? 2 : 5;
    const events = reduced ? 200 : 1000;
    const results = [];
    for (const kind of ["nats", "redis-stream", "amqp"] as const) results.push(await brokerRestarts({ kind, events, restarts, log }));
    return brokerRestartRows(results, restarts);
  },
  hardening: async ({ reduced, scratch, log }) => hardening({ sizes: reduced ? HARDENING_REDUCED : HARDENING_FULL, scratch, log }),
  soak: async ({ sizes, scratch, log }) => soakRows(await soak({ durationMs: sizes.soakMs, baselineMs: sizes.soakBaselineMs, rate: sizes.soakRate, retention: sizes.soakRetention, sweepEveryMs: sizes.soakSweepMs, levelWindowMs: sizes.soakWindowMs, scratch, log }), { checkRss: true }),
};

/**
 * Suites whose acceptance figures do not hold yet: `--reduced` (CI) names them and leaves them out,
 * `--only=NAME` and the full run still run them. Each entry says what fails; remove it with the fix.
 */
const NOT_YET_HOLDING: Record<string, string> = {};

/**
 * Rows (by "suite — scenario" prefix) that fail today on a quiet machine: the reduced run prints them
 * as FAIL with the reason but does not fail on them, and says when one holds again (then remove it).
 * The full run and `--only` still fail on them.
 */
const KNOWN_FAILING_ROWS: Record<string, string> = {};

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const reduced = args.includes("--reduced");
  const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
  for (const name of only ?? []) if (!SUITES[name]) throw new Error(`--only: unknown suite "${name}" (one of ${Object.keys(SUITES).join(", ")})`);
  const sizes = reduced ? REDUCED : FULL;
  const began = Date.now();
  const log: Logger = (message) => void process.stderr.write(`[chaos +${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);
  const scratch = new Scratch();
  const rows: Row[] = [];
  try {
    if (!args.includes("--tsx")) {
      const built = buildCli(scratch.dir("build"));
      useBuiltCli(built.root);
      log(`transpiled ${built.files} files of src/ for the child processes`);
    }
    log(`${reduced ? "reduced" : "full"} run`);
    for (const [name, suite] of Object.entries(SUITES)) {
      if (only && !only.includes(name)) continue;
      if (reduced && !only && NOT_YET_HOLDING[name]) {
        log(`suite ${name} left out of the reduced run, its figures do not hold yet: ${NOT_YET_HOLDING[name]} — run it with --only=${name}`);
        continue;
      }
      log(`suite ${name} …`);
      const suiteRows = await suite({ sizes, reduced, scratch, log });
      for (const row of suiteRows) log(`  ${row.result.toUpperCase()} ${row.suite} — ${row.scenario}`);
      rows.push(...suiteRows);
    }
    rows.push(leakRow());
  } finally {
    scratch.cleanup();
  }
  const table = markdownTable(rows);
  process.stdout.write(`\n${table}\n\n`);
  const known = (row: Row): string | undefined =>
    reduced && !only ? Object.entries(KNOWN_FAILING_ROWS).find(([prefix]) => rowName(row).startsWith(prefix))?.[1] : undefined;
  const knownFailures: Row[] = [];
  for (const row of rows) {
    const why = known(row);
    if (why && row.result === "FAIL") {
      knownFailures.push(row);
      log(`known failure, not counted in the reduced run: ${row.suite} — ${row.scenario}: ${why}`);
    }
    if (why && row.result === "pass") log(`now holds, remove it from KNOWN_FAILING_ROWS: ${row.suite} — ${row.scenario}`);
  }
  const failed = rows.filter((r) => r.result === "FAIL" && !known(r));
  log(verdict(failed, knownFailures, rows.filter((r) => r.result === "skipped")));
  if (!reduced && !only) {
    const header = `# Chaos suite results\n\nFull run of \`npm run chaos\` (${new Date().toISOString().slice(0, 10)}, ${Math.round((Date.now() - began) / 60_000)} min). Regenerate with \`npm run chaos\`; each row has a regression test in test/reliability/.\n\n`;
    writeFileSync(join(ROOT, "test/chaos/results.md"), `${header}${table}\n`);
    log("wrote test/chaos/results.md");
  }
  return failed.length === 0 ? 0 : 1;
}

const rowName = (row: Row): string => `${row.suite} — ${row.scenario}`;

/** The last line: never "all hold" while a row failed (known or not) or was not judged. */
function verdict(failed: Row[], knownFailures: Row[], skipped: Row[]): string {
  const also = [
    ...(knownFailures.length ? [`${knownFailures.length} known failure(s) above: ${knownFailures.map(rowName).join("; ")}`] : []),
    ...(skipped.length ? [`${skipped.length} row(s) not judged (skipped): ${skipped.map(rowName).join("; ")}`] : []),
  ];
  if (failed.length > 0) return `${failed.length} row(s) failed: ${failed.map(rowName).join("; ")}${also.length ? ` — also ${also.join("; ")}` : ""}`;
  if (also.length > 0) return `all acceptance figures hold except: ${also.join("; ")}`;
  return "all acceptance figures hold";
}

/** The leak figure over everything every suite captured. */
function leakRow(): Row {
  const surfaces = [...scanner.surfaces.entries()].map(([name, s]) => `${name} ${s.texts} (${Math.round(s.bytes / 1024)} KiB)`).join(", ");
  const leaks = scanner.leaks;
  return {
    suite: "Secrets",
    scenario: "every scenario's outputs grepped for the distinctive secret values (plain, URL-encoded, base64)",
    figures: `texts scanned ${scanner.texts()} (${(scanner.bytes() / 1024 / 1024).toFixed(1)} MiB): ${surfaces || "none"}; leaks ${leaks.length}`,
    result: leaks.length === 0 ? "pass" : "FAIL",
    ...(leaks.length ? { notes: leaks.slice(0, 5).map((l) => `${l.secret} (${l.form}) in ${l.surface} of ${l.origin}: …${l.context}…`).join("; ") } : {}),
  };
}

main().then(
  (code) => {
    // Exit with the verdict now: a failed row left to a natural exit was reported as exit 0.
    if (code !== 0) process.exit(code);
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`chaos: harness failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  },
);
