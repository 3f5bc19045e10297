import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { imageNodeFlags, parseDockerfile, runtimeSettings } from "../test/packaging/dockerfile.js";
import { buildForChildren } from "./build.js";
import { childStarter, FULL, QUICK, runJob, type Bench } from "./context.js";
import { SCALE_TABLE, table, withReadmeTable, type Row } from "./report.js";
import type { Child } from "./rpc.js";
import { brokersScenario } from "./scenarios/brokers.js";
import { deliverScenario } from "./scenarios/deliver.js";
import { expressionsScenario } from "./scenarios/expressions.js";
import { fakesScenario } from "./scenarios/fakes.js";
import { latencyScenario } from "./scenarios/latency.js";
import { manySourcesScenario } from "./scenarios/many-sources.js";
import { passScenarios } from "./scenarios/passes.js";
import { postgresScenario } from "./scenarios/postgres.js";
import { replicasScenario } from "./scenarios/replicas.js";
import { scaleScenario } from "./scenarios/scale.js";

/**
 * `npm run bench [-- --quick] [-- --only=passes,deliver,brokers,expressions,latency,many,postgres,replicas,fakes,scale] [-- --keep] [-- --tsx] [-- --build=DIR]`
 *
 * Starts the fake API and the receiver in their own processes on 127.0.0.1, runs each scenario
 * (retrohook and its floor in fresh child processes, as built JS — `--tsx` runs the sources
 * through tsx instead), prints the table and writes bench/results.json and the README's
 * Performance table (a quick or partial run writes its results to the temp folder instead).
 * `scale` (a reconcile of 1,000,000 records on each backend) runs only on request: a full
 * `--only=scale` run writes bench/scale-results.json and the README's scale table.
 * Exits non-zero only when the harness breaks — never on a missed target. `--keep` keeps the work folder (state files, child logs); `--build=DIR` runs
 * the children from a build made earlier (e.g. a kept `<work dir>/build`, patched to try a fix).
 * The children that run retrohook start with the Node flags of the container image's ENTRYPOINT
 * (read from the Dockerfile), as a deployed daemon does; floors and fakes run with Node's defaults.
 * BENCH_CPU_PROF=<dir> writes a CPU profile of every thread of every child process there (a folder per child); BENCH_HEAP_SNAPSHOT=<dir>
 * a heap snapshot of the many-sources daemon at the end of its window.
 */

const SCENARIOS: Record<string, (bench: Bench) => Promise<void>> = {
  passes: passScenarios,
  deliver: deliverScenario,
  brokers: brokersScenario,
  expressions: expressionsScenario,
  latency: latencyScenario,
  many: manySourcesScenario,
  postgres: postgresScenario,
  replicas: replicasScenario,
  fakes: fakesScenario,
  scale: scaleScenario,
};

/** Scenarios that run only when `--only` names them (long; not part of the full run). */
const ON_REQUEST = new Set(["scale"]);

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const keep = args.includes("--keep");
  const only = args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
  for (const name of only ?? []) if (!SCENARIOS[name]) throw new Error(`--only: unknown scenario ${name} (one of ${Object.keys(SCENARIOS).join(", ")})`);
  const sizes = quick ? QUICK : FULL;
  const retrohookFlags = imageNodeFlags(runtimeSettings(parseDockerfile(readFileSync(fileURLToPath(new URL("../Dockerfile", import.meta.url)), "utf8"))));
  const dir = mkdtempSync(join(tmpdir(), "retrohook-bench-"));
  const began = Date.now();
  const log = (message: string): void => void process.stderr.write(`[bench +${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);
  log(`${quick ? "quick" : "full"} run; work dir ${dir}`);

  const children: Child[] = [];
  const rows: Row[] = [];
  try {
    let root = args.find((a) => a.startsWith("--build="))?.slice("--build=".length);
    if (root) log(`using the build in ${root}`);
    else if (!args.includes("--tsx")) {
      const built = buildForChildren(dir);
      root = built.root;
      log(`transpiled ${built.files} files for the child processes in ${Math.round(built.ms)} ms`);
    }
    const start = childStarter(dir, root, retrohookFlags);
    const fake = await start("fake-api", "fake-api", "plain");
    children.push(fake);
    const receiver = await start("receiver", "receiver", "plain");
    children.push(receiver);
    const { url: apiUrl } = await fake.call<{ url: string }>("listen");
    const { url: receiverUrl } = await receiver.call<{ url: string }>("listen");
    const bench: Bench = {
      sizes,
      quick,
      dir,
      fake,
      apiUrl,
      receiver,
      receiverUrl,
      rows,
      job: (op, jobArgs) => runJob(start, op, jobArgs),
      daemon: (label) => start("daemon-child", `daemon-${label}`, "retrohook"),
      log,
    };
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      if (only ? !only.includes(name) : ON_REQUEST.has(name)) continue;
      await scenario(bench);
    }
  } finally {
    for (const child of children) await child.stop();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }

  const order = ["reconcile", "baseline", "floor", "deliver", "latency", "many-sources", "economy", "naive", "fakes"];
  const rank = (row: Row): number => order.findIndex((prefix) => row.scenario.startsWith(prefix));
  rows.sort((a, b) => rank(a) - rank(b));
  process.stdout.write(`\n${table(rows)}\n\n`);
  for (const row of rows) if (row.detail) process.stdout.write(`  ${row.scenario}: ${row.detail}\n`);
  process.stdout.write(`\n${quick ? "quick sizes" : "full sizes"}; ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}, retrohook with the image's flags ${retrohookFlags.join(" ") || "(none)"}; ${((Date.now() - began) / 1000).toFixed(0)} s\n`);
  const unmet = rows.filter((row) => row.met === false);
  process.stdout.write(unmet.length === 0 ? "every target met\n" : `targets not met: ${unmet.map((row) => row.scenario).join(", ")}\n`);
  // Only a complete full run of the working tree replaces bench/results.json and the README's table.
  const complete = !(quick || only || args.some((a) => a.startsWith("--build=")));
  const out = complete ? fileURLToPath(new URL("./results.json", import.meta.url)) : join(tmpdir(), "retrohook-bench-results.json");
  writeFileSync(out, `${JSON.stringify(rows, null, 2)}\n`);
  process.stdout.write(`results: ${out}\n`);
  if (!quick && only?.length === 1 && only[0] === "scale" && !args.some((a) => a.startsWith("--build="))) {
    writeFileSync(fileURLToPath(new URL("./scale-results.json", import.meta.url)), `${JSON.stringify(rows, null, 2)}\n`);
    const readme = fileURLToPath(new URL("../README.md", import.meta.url));
    writeFileSync(readme, withReadmeTable(readFileSync(readme, "utf8"), rows, SCALE_TABLE));
    process.stdout.write(`bench/scale-results.json and the README's scale table are this run's\n`);
  }
  if (complete) {
    const readme = fileURLToPath(new URL("../README.md", import.meta.url));
    writeFileSync(readme, withReadmeTable(readFileSync(readme, "utf8"), rows));
    process.stdout.write(`README.md: the Performance table is this run's (check the text around it)\n`);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
