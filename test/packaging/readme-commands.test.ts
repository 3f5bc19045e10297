/**
 * Every command README.md tells a user to run is exercised, as written, by a test or a CI step.
 * The commands are read from the README itself (shell blocks, code spans that start like a
 * command, snippet blocks), so a new command without a row below fails here; each row names the
 * files that run it and what they must contain (its arguments as the test passes them).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { markdownCommands, readme, type ReadmeCommand } from "../helpers/readme.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Coverage {
  /** README commands this row covers (whitespace collapsed, `\|` unescaped). */
  command: RegExp;
  /** [file, ...strings it must contain]: the test or CI step that runs the command, and how. */
  by: Array<[string, ...string[]]>;
  /** How it is exercised where that is not plain, or why not exactly as written. */
  note?: string;
}

/** The files that exercise most commands. */
const FILE = {
  walk: "test/e2e/readme-walkthrough.test.ts",
  operator: "test/cli/operator.test.ts",
  status: "test/cli/status.test.ts",
  once: "test/e2e/once.test.ts",
  docker: "test/packaging/dockerfile.test.ts",
  replay: "test/packaging/replay.ts",
  ci: ".ci/run",
};
const NO_ENGINE = "no Docker engine on these machines: .ci/docker-replay.sh (test/packaging/replay.ts) replays the Dockerfile's steps and runs the final stage like the image; dockerfile.test.ts checks the command's arguments against the Dockerfile";

const COVERAGE: Coverage[] = [
  // Quick start
  { command: /^npm ci$/, by: [[FILE.ci, "npm ci --no-audit --no-fund"]], note: "CI's first step, in a clean clone (quiet flags added)" },
  {
    command: /^npx retrohook demo$/,
    by: [[FILE.walk, '"--no-install", "retrohook", "--version"', 'startCli(["demo"], {}, { cwd: dir })', 'kill("SIGINT")'], ["test/e2e/demo.test.ts", 'runCli(["demo"']],
    note: "npx resolves the checkout's bin (built by npm ci); the demo runs with no options in an empty folder and stops on Ctrl-C",
  },
  { command: /^npm test$/, by: [[FILE.ci, "\nnpm test\n"]] },

  // A real setup
  { command: /^npx retrohook validate -c config\.yaml$/, by: [[FILE.walk, 'cli(["validate", "-c", "config.yaml"]', 'runCli(["validate", "-c", "config.yaml"]']], note: "the README's config.yaml, and config.example.yaml and each examples/*.yaml copied to config.yaml" },
  { command: /^npx retrohook once --dry-run -c config\.yaml$/, by: [[FILE.walk, 'cli(["once", "--dry-run", "-c", "config.yaml"]']] },
  { command: /^npx retrohook run -c config\.yaml$/, by: [[FILE.walk, 'startCli(["run", "-c", "config.yaml"]']] },
  { command: /^(npx )?retrohook run$/, by: [["test/e2e/daemon.test.ts", 'startCli(["run", "-c", path]'], [FILE.walk, 'startCli(["run", "-c", "config.yaml"]']] },

  // Signatures
  { command: /^npm i standardwebhooks$/, by: [[FILE.walk, "`npm i standardwebhooks`"], ["package.json", '"standardwebhooks": "']], note: "a dependency of retrohook (npm ci installs it); the Node snippet imports it from the checkout" },
  { command: /^js snippet$/, by: [[FILE.walk, 'readmeBlock("js", "standardwebhooks")', "nodeSnippet(request, secret, raw)"]], note: "run on every delivery of the real setup, whsec_ and raw mode, and on tampered bodies" },
  { command: /^python snippet$/, by: [[FILE.walk, 'readmeBlock("python", "def verify")', 'spawnSync("python3"']], note: "skipped, with the reason in its title, when python3 (3.9+) is missing" },

  // Operator commands
  {
    command: /^retrohook replay (--dead-letters \[--target NAME\]|\(--event ID \| --dead-letters \[--target NAME( \[--to NEW\])?\]\))$|^--event ID$/,
    by: [[FILE.operator, '["replay", "--event", eventId, "-c", path]', '["replay", "--dead-letters", "-c", path]', '["replay", "--event", eventId, "--target", "erp", "-c", path]'], [FILE.status, '["replay", "--dead-letters", "--target", "erp", "-c", path]']],
  },
  {
    command: /^retrohook migrate-state --from (sqlite:\/\/FILE --to postgres:\/\/…|sqlite:\/\/\/data\/retrohook\.sqlite --to "postgres:\/\/retrohook:\$\{PGPASSWORD\}@db:5432\/retrohook\?schema=retrohook")$/,
    by: [["test/e2e/migrate-state.test.ts", '["migrate-state", "--from", sqliteUrl, "--to", pgUrl]']],
    note: "a SQLite state in a temporary folder into a fresh schema of the test's PostgreSQL",
  },
  { command: /^retrohook reset( --source S)?$/, by: [[FILE.operator, '["reset", "--source", "legacy", "-c", path]']], note: "lifts a 401 suspension" },
  {
    command: /^retrohook reset (--source S --resource R |… )--accept-deletes$|^retrohook reset --source S \[--resource R\] \[--accept-deletes\]$/,
    by: [[FILE.status, '["reset", "--source", "legacy", "--resource", "items", "--accept-deletes", "-c", path]'], [FILE.operator, '["reset", "--source", "legacy", "-c", path]']],
  },
  {
    command: /^retrohook resume( --source S( --resource R| \[--resource R\])?)?$/,
    by: [["test/sources/presets/facturascripts/permissions.test.ts", '["resume", "--source", "erp", "-c", path]', '["resume", "--source", "erp", "--resource", "cost_invoices", "-c", path]']],
    note: "after a denied payment feed and a suspended resource",
  },
  { command: /^retrohook validate$/, by: [[FILE.operator, 'main(["validate"], fromEnv)'], ["test/sources/presets/fakturoid/cli.test.ts", 'runCli(["validate", "-c", path]', "permits one pass every"], [FILE.walk, "permits one pass every"]] },
  { command: /^retrohook status$/, by: [[FILE.walk, 'cli(["status"], env)'], [FILE.status, '["status", "-c", path]']], note: "with the default ./config.yaml, through the running daemon" },
  {
    command: /^retrohook explain (SOURCE\/RESOURCE\/RECORD_ID|--event ID) \[--json\]$|^retrohook explain (fakturownia\/invoices\/123|SOURCE\/RESOURCE\/RECORD_ID)$|^--json$/,
    by: [["test/cli/explain.test.ts", '["explain", "legacy/items/1", "-c", path]', '["explain", "legacy/items/1", "--json", "-c", path]', '["explain", "--event", paidId, "-c", path]']],
  },
  { command: /^retrohook status \[--json\]$/, by: [[FILE.status, '["status", "-c", path]', '["status", "--json", "-c", path]']] },
  { command: /^retrohook once --dry-run$/, by: [[FILE.once, '["once", "--dry-run", "-c", path]']] },
  { command: /^retrohook once \[--source NAME\] \[--reconcile\] \[--dry-run\]$/, by: [[FILE.operator, '["once", "--source", "legacy", "-c", path]'], [FILE.once, '["once", "--reconcile", "-c", path]', '["once", "--dry-run", "-c", path]']] },
  {
    command: /^retrohook test-target NAME --sample cost_invoice\.paid$|^--sample TYPE$/,
    by: [["test/e2e/expressions.test.ts", '["test-target", "slack", "--sample", "cost_invoice.paid", "-c", path]', '["test-target", "slack", "--event", entry!.eventId, "-c", path]']],
  },
  { command: /^retrohook test-target NAME$/, by: [[FILE.walk, 'cli(["test-target", "erp"], env)'], [FILE.operator, 'testTargetCommand.run({ config: path }, ok, ["erp"])']] },
  {
    command: /^retrohook doctor( -c config\.yaml| --demo| \[--source NAME\] \[--demo\])$/,
    by: [["test/cli/doctor.test.ts", 'runCli(["doctor", "-c", path]', 'runCli(["doctor", "--demo"]']],
    note: "against the four vendors' fakes at once (requests counted at each fake) and the demo's simulated account",
  },
  { command: /^retrohook schema$/, by: [["test/cli/schema.test.ts", 'runCli(["schema"]']] },
  { command: /^retrohook schema > retrohook\.schema\.json$/, by: [[FILE.walk, 'cli(["schema"])', 'writeFileSync(join(dir, "retrohook.schema.json"), schema.stdout)']], note: "the redirect done by the test; the README's config is then checked against that file" },
  { command: /^retrohook demo$/, by: [["test/e2e/demo.test.ts", 'startCli(["demo", "--seconds", "30"'], [FILE.walk, 'startCli(["demo"]']] },
  { command: /^-c\/--config FILE$/, by: [[FILE.operator, 'main(["validate", "--config", path], long)', "RETROHOOK_CONFIG: path"], [FILE.walk, '"-c", "config.yaml"']] },
  { command: /^--help$/, by: [[FILE.operator, 'main([name, "--help"], io)', 'main(["--help"], top)']] },
  { command: /^GET \/api\/explain\?source=&resource=&id=$/, by: [["test/cli/explain.test.ts", '"/api/explain?source=legacy&resource=items&id=1"', "/api/explain?event="]] },
  { command: /^GET \/api$/, by: [[FILE.walk, 'adminRequest<{ endpoints: string[] }>(base, "GET", "/api")'], ["test/server/admin.test.ts", 'daemon.api("GET", "/api")']] },

  // Container
  { command: /^retrohook replay --dead-letters --target OLD --to NEW$|^--to$/, by: [["test/reliability/target-rename.test.ts", '["replay", "--dead-letters", "--target", "erp", "--to", "erp-prod", "-c", renamed]']] },
  { command: /^docker build -t retrohook \.$/, by: [[FILE.ci, "bash .ci/docker-replay.sh"], [FILE.replay, "replayStage(stage, index, context, stages"], [FILE.docker, '"docker build"']], note: NO_ENGINE },
  { command: /^docker run -d --name retrohook .* retrohook$/, by: [[FILE.replay, "[...entryArgs, ...settings.cmd]", "FAKTUROWNIA_DOMAIN", "RETROHOOK_HEALTHCHECK_URL"], [FILE.docker, "dockerRun", '"-d"']], note: NO_ENGINE },
  { command: /^docker run --rm .* retrohook validate$/, by: [[FILE.replay, '[...entryArgs, "validate"]'], [FILE.docker, '["validate"]']], note: NO_ENGINE },
  { command: /^-p 127\.0\.0\.1:8080:8080$/, by: [[FILE.docker, "published on the host's loopback"]], note: NO_ENGINE },
  { command: /^docker stop$/, by: [[FILE.replay, 'child.kill("SIGTERM")']], note: `docker stop sends SIGTERM; the replay sends it to the image's entrypoint (tini) and wants exit 0. ${NO_ENGINE}` },
  { command: /^chown 1000 \.\/data$/, by: [[FILE.replay, "chownSync", "node: 1000"]], note: `the replay runs the image as uid 1000 on a /data it owns (as root, in CI); a host folder mount needs Docker. ${NO_ENGINE}` },
  { command: /^docker inspect( -f '\{\{\.State\.Health\.Status\}\}' retrohook)?$/, by: [[FILE.replay, "settings.healthcheck"], [FILE.docker, "docker inspect -f"]], note: `the replay runs the image's HEALTHCHECK command. ${NO_ENGINE}` },
  { command: /^--max-semi-space-size=4$/, by: [[FILE.docker, '"--max-semi-space-size=4"'], [FILE.replay, "settings.entrypoint.map(mapArg)"], ["bench/run.ts", "imageNodeFlags("]], note: "the image's ENTRYPOINT flag: the replay starts the entrypoint with it, npm run bench starts retrohook's processes with it" },
  { command: /^node -e$/, by: [[FILE.replay, "health.command"], [FILE.docker, '["node", "-e"]']], note: "the image's HEALTHCHECK command" },
  { command: /^docker compose up -d$/, by: [[FILE.docker, "compose.example.yaml mounts the config"]], note: "static only: compose.example.yaml is checked against the Dockerfile and the container example; no engine to run Compose, and the replay does not read compose files" },
  { command: /^npm prune --omit=dev$/, by: [[FILE.replay, "runSteps(instruction)"], [FILE.docker, "npm prune --omit=dev"]], note: "the Dockerfile's RUN, replayed as written" },
  { command: /^docker build --build-arg NODE_VERSION=\d+ …$/, by: [[FILE.docker, "--build-arg NODE_VERSION="]], note: "static: the ARG exists and package.json and better-sqlite3 accept that major; the replay uses the machine's Node, so no image major runs in CI" },
  { command: /^bash \.ci\/docker-replay\.sh$/, by: [[FILE.ci, "bash .ci/docker-replay.sh"]] },
  { command: /^npm pack$/, by: [[FILE.replay, '"npm", ["pack", "--json"']] },
  { command: /^npx retrohook --version$/, by: [[FILE.replay, '"npx", ["--no-install", "retrohook", "--version"]'], [FILE.walk, '"--no-install", "retrohook", "--version"']] },

  // Maintenance and measurements
  { command: /^npx tsx scripts\/config-reference\.ts$/, by: [["test/packaging/config-reference.test.ts", "staleFiles()", "REGENERATE"]], note: "in-process: the functions the script runs; the test does not rewrite README.md" },
  { command: /^npm run bench -- --quick$/, by: [[FILE.ci, "npm run bench -- --quick"]] },
  { command: /^npm run bench -- --only=scale$/, by: [[FILE.ci, "npm run bench -- --quick --only=scale"]], note: "CI runs the scale scenario at quick sizes (2,000 and 20,000 records) so its harness cannot rot; the 1,000,000-record run is run by hand" },
  { command: /^npx retrohook demo --for 60s$/, by: [["test/e2e/demo.test.ts", '["demo", "--for", "3s"']], note: "a shorter --for, the same option" },
  { command: /^retrohook once --reconcile$/, by: [[FILE.once, '["once", "--reconcile", "-c", path]']] },
  { command: /^GET \/api\/state$/, by: [["test/server/state.test.ts", '"GET", "/api/state"']] },
  { command: /^GET \/api\/cluster$/, by: [["test/cluster/replicas.test.ts", "/api/cluster`"]] },
  { command: /^POST \/api\/sources\/NAME\/pass$/, by: [["test/server/admin.test.ts", 'daemon.api("POST", "/api/sources/legacy/pass"']] },
  { command: /^npm run bench$|^--quick$/, by: [[FILE.ci, "npm run bench -- --quick"]], note: "CI runs the quick sizes so the harness cannot rot; the full run measures the machine and is run by hand" },
  { command: /^npm run chaos$/, by: [[FILE.ci, "npm run chaos -- --reduced"]], note: "CI runs the reduced suite; the full run (100+ SIGKILLs, a 10-minute soak) is run by hand" },
  { command: /^npm run chaos -- --reduced$/, by: [[FILE.ci, "npm run chaos -- --reduced"]] },
];

const read = (file: string): string => readFileSync(join(ROOT, file), "utf8");
const where = (command: ReadmeCommand): string => `README.md:${command.line} (${command.kind}) \`${command.text}\``;

/** A file that runs: a vitest test, a CI script, or a file a CI script runs. */
function runs(file: string): boolean {
  if (/^test\/.+\.test\.ts$/.test(file) || file.startsWith(".ci/")) return true;
  return [".ci/run", ".ci/docker-replay.sh"].some((script) => read(script).includes(file));
}

describe("README quick start", () => {
  it("states the Node.js versions package.json's engines accept (npm ci refuses others: engine-strict)", () => {
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
    const floors = [...engines.matchAll(/>=(\d+\.\d+)/g)].map((m) => m[1]!);
    expect(floors.length).toBeGreaterThan(0);
    const quickStart = readme().split("\n## ")[0]!;
    for (const floor of floors) expect(quickStart, `README quick start names Node.js ${floor}+`).toContain(`${floor}+`);
    expect(read(".npmrc")).toMatch(/^engine-strict=true$/m);
  });
});

describe("README commands", () => {
  const commands = markdownCommands(readme());

  it("are found: the shell blocks, the snippets and the inline commands", () => {
    const texts = commands.map((c) => c.text);
    expect(texts).toEqual(expect.arrayContaining(["npm ci", "npx retrohook demo", "npm test", "js snippet", "python snippet", "docker build -t retrohook .", "npx retrohook validate -c config.yaml", "retrohook schema > retrohook.schema.json"]));
    expect(commands.filter((c) => c.kind === "shell").length).toBeGreaterThanOrEqual(6);
    // The extraction itself: continuations joined, comments dropped, `&&` split, `\|` unescaped.
    const sample = markdownCommands("```sh\nnpm ci && npx retrohook demo   # note\ndocker run \\\n  -d x   # a # b\n```\n\nRun `retrohook replay (--event ID \\| --dead-letters)` or `--help`; not `retrohook.test` nor `data.previous`.\n");
    expect(sample.map((c) => `${c.line}:${c.kind}:${c.text}`)).toEqual(["1:shell:npm ci", "1:shell:npx retrohook demo", "1:shell:docker run -d x", "7:inline:retrohook replay (--event ID | --dead-letters)", "7:inline:--help"]);
  });

  it("each have a row in the coverage table", () => {
    const uncovered = commands.filter((command) => !COVERAGE.some((row) => row.command.test(command.text)));
    expect(uncovered.map(where), "README commands no test or CI step exercises: add the exercise and a row to COVERAGE").toEqual([]);
  });

  it("and each row still matches a README command", () => {
    const stale = COVERAGE.filter((row) => !commands.some((command) => row.command.test(command.text)));
    expect(stale.map((row) => String(row.command)), "rows for commands the README no longer has").toEqual([]);
  });

  it("are exercised where the table says: the files exist, run in `npm test` or CI, and pass the command's arguments", () => {
    const problems: string[] = [];
    for (const row of COVERAGE) {
      if (!row.by.some(([file]) => runs(file))) problems.push(`${String(row.command)}: none of ${row.by.map(([file]) => file).join(", ")} is a test or run by CI`);
      for (const [file, ...needles] of row.by) {
        if (!existsSync(join(ROOT, file))) {
          problems.push(`${String(row.command)}: ${file} does not exist`);
          continue;
        }
        const text = read(file);
        for (const needle of needles) if (!text.includes(needle)) problems.push(`${String(row.command)}: ${file} does not contain ${JSON.stringify(needle)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
