/**
 * The Dockerfile replay and the npm pack check (run by .ci/docker-replay.sh; CI has no Docker
 * engine). Everything happens in a fresh temporary folder:
 *
 * 1. The repo's files (git's tracked and not-ignored files) are copied there; the build context
 *    is that copy less .dockerignore.
 * 2. Every stage of the Dockerfile is replayed in a folder standing for its file system: COPY
 *    from the context or an earlier stage, WORKDIR, ENV, and each RUN command from the small set
 *    test/packaging/dockerfile.ts knows (npm commands run as written; apt packages are installed
 *    on this machine when missing; mkdir/chown act inside the stage's folder). Anything else
 *    fails the check, so the Dockerfile and this replay cannot drift apart.
 * 3. The final stage is started like the image: its ENTRYPOINT + CMD with its ENV, from its
 *    WORKDIR, as its USER's uid, with the container's example config (examples/docker-config.yaml
 *    from the image) — only moved to 127.0.0.1 and a free port, its absolute paths into the
 *    stage folder, and its source at a local Fakturownia fake from the pruned tree. `validate`
 *    through the entrypoint (the README's `docker run --rm … retrohook validate`) must accept
 *    it; the image's CMD (`run`) is started with it. The HEALTHCHECK command must pass against it (and fail against a closed port); the admin API
 *    must want the token; SIGTERM through the init process must end it with exit 0.
 * 4. `npm pack` of the copy: the tarball must hold the built CLI, every dist file, the demo's simulator,
 *    README, LICENSE, the examples — and no sources or tests; installed into an empty folder
 *    (dependencies from the registry), `npx retrohook --version` and a short `demo` must work.
 *
 * Options: --keep (leave the temporary folder), --skip-pack, --skip-docker.
 */
import { spawn, spawnSync, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";
import { checkReplayable, copyOf, dockerignore, parseDockerfile, ReplayError, runSteps, runtimeSettings, type Dockerfile, type Stage } from "./dockerfile.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = new Set(process.argv.slice(2));
const started = Date.now();

/** uids of the users the base image (node:*-bookworm-slim) defines. */
const IMAGE_USERS: Record<string, number> = { root: 0, node: 1000 };

// ---------------------------------------------------------------------------------------------
// Small helpers

function log(message: string): void {
  process.stdout.write(`[replay +${Math.round((Date.now() - started) / 1000)}s] ${message}\n`);
}

function fail(message: string): never {
  throw new ReplayError(message);
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

function run(command: string, argv: string[], options: SpawnOptions & { quiet?: boolean } = {}): string {
  const result = spawnSync(command, argv, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options, stdio: ["ignore", "pipe", "pipe"] });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-40).join("\n");
    fail(`${command} ${argv.join(" ")} exited ${result.status ?? result.signal}${result.error ? ` (${result.error.message})` : ""}\n${output}`);
  }
  return result.stdout;
}

function cp(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  run("cp", ["-a", from, to]);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** This machine's environment for the replayed commands, less what tsx adds to this process. */
function baseEnv(): Record<string, string> {
  const env = { ...(process.env as Record<string, string>) };
  delete env.NODE_OPTIONS;
  for (const name of Object.keys(env)) if (name.startsWith("TSX_") || name.startsWith("npm_")) delete env[name];
  return env;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// 1. The repo's files and the build context

function repoFiles(): string[] {
  const listed = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT }).split("\0");
  return listed.filter((file) => file !== "" && existsSync(join(ROOT, file)) && lstatSync(join(ROOT, file)).isFile());
}

function copyFiles(files: string[], into: string): void {
  for (const file of files) cp(join(ROOT, file), join(into, file));
}

// ---------------------------------------------------------------------------------------------
// 2. The stages

interface StageFs {
  stage: Stage;
  root: string;
}

/** A path of the image's file system inside a stage folder. */
const inStage = (root: string, path: string): string => join(root, posix.normalize(path));

function ensurePackages(packages: string[]): void {
  const missing = packages.filter((name) => {
    const result = spawnSync("dpkg-query", ["-W", "-f=${db:Status-Status}", name], { encoding: "utf8" });
    return result.stdout.trim() !== "installed";
  });
  if (missing.length === 0) {
    log(`  apt packages present: ${packages.join(" ")}`);
    return;
  }
  check(process.getuid?.() === 0, `apt packages ${missing.join(" ")} are missing and only root can install them`);
  log(`  installing apt packages: ${missing.join(" ")}`);
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

function replayStage(stage: Stage, index: number, context: string, stages: StageFs[], base: string): StageFs {
  const root = join(base, `stage-${index}-${stage.name ?? "unnamed"}`);
  mkdirSync(root, { recursive: true });
  let workdir = "/";
  const env: Record<string, string> = {};
  log(`stage ${stage.name ?? index} (FROM ${stage.image}): replayed in ${root}`);
  for (const instruction of stage.instructions) {
    const where = `line ${instruction.line}`;
    switch (instruction.keyword) {
      case "WORKDIR":
        workdir = posix.resolve(workdir, instruction.args);
        mkdirSync(inStage(root, workdir), { recursive: true });
        break;
      case "ENV": {
        const pair = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(instruction.args);
        check(pair, `${where}: write one ENV NAME=value per line`);
        env[pair[1]!] = pair[2]!;
        break;
      }
      case "COPY": {
        const copy = copyOf(instruction);
        const fromRoot = copy.from === undefined ? context : stages.find((s) => s.stage.name === copy.from)?.root;
        check(fromRoot, `${where}: COPY --from=${copy.from}: no earlier stage of that name`);
        const dest = posix.resolve(workdir, copy.dest);
        const intoFolder = copy.dest.endsWith("/") || copy.sources.length > 1;
        for (const source of copy.sources) {
          const from = copy.from === undefined ? join(context, posix.normalize(source)) : inStage(fromRoot, posix.resolve("/", source));
          check(existsSync(from), `${where}: COPY ${source}: not found in ${copy.from === undefined ? "the build context (see .dockerignore)" : `stage ${copy.from}`}`);
          const target = inStage(root, statSync(from).isDirectory() || !intoFolder ? dest : posix.join(dest, posix.basename(source)));
          if (statSync(from).isDirectory()) {
            mkdirSync(target, { recursive: true });
            run("cp", ["-a", `${from}/.`, target]);
          } else cp(from, target);
        }
        log(`  COPY${copy.from ? ` --from=${copy.from}` : ""} ${copy.sources.join(" ")} → ${dest}`);
        break;
      }
      case "RUN":
        for (const step of runSteps(instruction)) {
          if (step.kind === "skip") log(`  skip "${step.text}" (${step.why})`);
          else if (step.kind === "apt") ensurePackages(step.packages);
          else if (step.kind === "mkdir") {
            for (const path of step.paths) mkdirSync(inStage(root, path), { recursive: true });
            log(`  mkdir ${step.paths.join(" ")}`);
          } else if (step.kind === "chown") {
            const user = step.owner.split(":")[0]!;
            const uid = IMAGE_USERS[user];
            check(uid !== undefined, `${where}: chown to unknown user ${user} (the replay knows ${Object.keys(IMAGE_USERS).join(", ")})`);
            for (const path of step.paths) chownSync(inStage(root, path), uid, uid);
            log(`  chown ${step.owner} ${step.paths.join(" ")} (uid ${uid})`);
          } else {
            const t0 = Date.now();
            log(`  RUN ${step.command}   (in ${workdir})`);
            run("sh", ["-c", step.command], { cwd: inStage(root, workdir), env: { ...baseEnv(), ...env } });
            log(`    done in ${Math.round((Date.now() - t0) / 1000)} s`);
          }
        }
        break;
      default:
        break; // USER, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD, LABEL: checked in the run phase
    }
  }
  return { stage, root };
}

// ---------------------------------------------------------------------------------------------
// 3. The image, started

async function checkImage(file: Dockerfile, runtime: StageFs, contextFiles: string[]): Promise<void> {
  const settings = runtimeSettings(file);
  const root = runtime.root;
  const app = inStage(root, settings.workdir);
  const manifest = JSON.parse(readFileSync(join(app, "package.json"), "utf8")) as { version: string; devDependencies?: Record<string, string>; dependencies?: Record<string, string> };

  // The pruned tree: runtime dependencies with the compiled SQLite binding, no dev dependencies.
  const binding = join(app, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node");
  check(existsSync(binding), `the pruned node_modules lacks the compiled better-sqlite3 binding (${relative(root, binding)})`);
  run(process.execPath, ["-e", "const D=require('better-sqlite3');const d=new D(':memory:');d.prepare('select 1').get();d.close()"], { cwd: app });
  log(`  pruned tree: better-sqlite3 binding present and loads (${Math.round(statSync(binding).size / 1024)} KB)`);
  const leftovers = Object.keys(manifest.devDependencies ?? {}).filter((name) => existsSync(join(app, "node_modules", name)));
  check(leftovers.length === 0, `dev dependencies left in the runtime image: ${leftovers.join(", ")}`);
  for (const name of Object.keys(manifest.dependencies ?? {})) check(existsSync(join(app, "node_modules", name)), `runtime dependency ${name} missing from the image`);
  check(!existsSync(join(app, "src")) && !existsSync(join(app, "test")), "the runtime image holds src/ or test/");
  log(`  pruned tree: ${Object.keys(manifest.dependencies ?? {}).length} dependencies, none of ${Object.keys(manifest.devDependencies ?? {}).length} dev dependencies`);

  // What runs: ENTRYPOINT + CMD, host binaries (apt-installed: tini) or the image's own files.
  check(settings.entrypoint.length > 0, "the image has no ENTRYPOINT");
  const mapArg = (arg: string): string => {
    if (!arg.startsWith("/")) return arg;
    const top = `/${arg.split("/")[1]}`;
    return existsSync(inStage(root, top)) ? inStage(root, arg) : arg;
  };
  const [program, ...rest] = settings.entrypoint.map(mapArg);
  check(program && (program.includes("/") ? existsSync(program) : true), `ENTRYPOINT ${settings.entrypoint[0]} does not exist (installed by the image's apt step?)`);
  const env = baseEnv();
  for (const [name, value] of Object.entries(settings.env)) env[name] = mapArg(value);
  const uid = settings.user === undefined ? 0 : IMAGE_USERS[settings.user];
  check(uid !== undefined, `USER ${settings.user}: unknown to the replay`);
  const asUser: SpawnOptions = process.getuid?.() === 0 ? { uid, gid: uid } : {};
  if (process.getuid?.() !== 0) log(`  not root: the image's USER ${settings.user} (uid ${uid}) is not applied`);
  for (let dir = root; dir !== dirname(dir) && dir.startsWith(dirname(dirname(root))); dir = dirname(dir)) chmodSync(dir, 0o755);

  // --version
  const version = run(program, [...rest, "--version"], { cwd: app, env, ...asUser }).trim();
  check(version.includes(manifest.version), `--version printed "${version}", expected ${manifest.version}`);
  log(`  ${settings.entrypoint.join(" ")} --version → ${version}`);

  if (!contextFiles.some((f) => f.startsWith("src/server/"))) {
    log("  src/server is not there yet: the run and health-check steps are skipped");
    return;
  }
  await runImage(settings, root, app, program, rest, env, asUser);
}

async function runImage(
  settings: ReturnType<typeof runtimeSettings>,
  root: string,
  app: string,
  program: string,
  entryArgs: string[],
  env: Record<string, string>,
  asUser: SpawnOptions,
): Promise<void> {
  // The container's example config, from the image itself.
  const exampleInImage = join(app, "examples", "docker-config.yaml");
  check(existsSync(exampleInImage), "the image lacks examples/docker-config.yaml");
  const example = readFileSync(exampleInImage, "utf8");
  const config = parse(example) as {
    state: { url: string };
    server: { listen: string; admin_token_file?: string };
    sources: Array<Record<string, unknown>>;
    targets?: Array<Record<string, unknown>>;
  };
  check(settings.env.RETROHOOK_CONFIG, "the image sets no RETROHOOK_CONFIG");
  const configPath = inStage(root, settings.env.RETROHOOK_CONFIG);
  check(existsSync(dirname(configPath)), `${dirname(settings.env.RETROHOOK_CONFIG)} is not created in the image (the config is mounted there)`);

  // A Fakturownia fake and a receiver, from the pruned tree and this process.
  const fakeModule = (await import(pathToFileURL(join(app, "dist", "simulators", "fakturownia", "fake.js")).href)) as typeof import("../../src/simulators/fakturownia/fake.js");
  const apiToken = randomBytes(12).toString("hex");
  const fake = await fakeModule.startFakturowniaFake({ apiToken });
  let received = 0;
  const receiver: Server = createServer((req, res) => {
    received++;
    req.resume();
    req.on("end", () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const port = await freePort();
  const adminToken = randomBytes(16).toString("hex");
  const secrets: Record<string, string> = {
    admin_token_file: adminToken,
    api_token_file: apiToken,
    secret_file: `whsec_${randomBytes(24).toString("base64")}`,
  };
  // Absolute paths of the image (state, secrets) into the stage folder; secret files written.
  const placeFile = (key: string, path: unknown): string => {
    check(typeof path === "string" && path.startsWith("/"), `examples/docker-config.yaml: ${key} should be an absolute path in the container`);
    const value = secrets[key];
    check(value !== undefined, `examples/docker-config.yaml: the replay has no value for ${key}; teach test/packaging/replay.ts`);
    const local = inStage(root, path);
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, `${value}\n`, { mode: 0o444 });
    return local;
  };
  const stateMatch = /^sqlite:\/\/(\/.+)$/.exec(config.state.url);
  check(stateMatch, `examples/docker-config.yaml: state.url ${config.state.url} should be an absolute sqlite:/// path`);
  const volume = settings.volumes.find((v) => stateMatch[1]!.startsWith(`${v}/`));
  check(volume, `state.url ${config.state.url} is not inside a VOLUME (${settings.volumes.join(", ")})`);
  const stateFile = inStage(root, stateMatch[1]!);
  config.state.url = `sqlite://${stateFile}`;
  const [, listenPort] = /:(\d+)$/.exec(config.server.listen) ?? [];
  check(settings.exposed.some((e) => e.split("/")[0] === listenPort), `server.listen ${config.server.listen} is not an EXPOSEd port (${settings.exposed.join(", ")})`);
  config.server.listen = `127.0.0.1:${port}`;
  for (const holder of [config.server, ...config.sources, ...(config.targets ?? [])]) {
    for (const key of Object.keys(holder)) if (key.endsWith("_file")) (holder as Record<string, unknown>)[key] = placeFile(key, (holder as Record<string, unknown>)[key]);
  }
  for (const source of config.sources) source.base_url = fake.url;
  writeFileSync(configPath, stringify(config));
  const vars: Record<string, string> = { FAKTUROWNIA_DOMAIN: "mycompany", ERP_WEBHOOK_URL: receiverUrl };
  for (const [, name] of example.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)) {
    check(name! in vars, `examples/docker-config.yaml uses \${${name}}; the replay has no value for it: teach test/packaging/replay.ts`);
  }

  // The README's `docker run --rm … -e FAKTUROWNIA_DOMAIN=… -e ERP_WEBHOOK_URL=… retrohook validate`:
  // any command through the entrypoint, the config and secrets mounted, nothing else.
  const validated = run(program, [...entryArgs, "validate"], { cwd: app, env: { ...env, ...vars }, ...asUser });
  check(/^config .*: ok$/m.test(validated), `${settings.entrypoint.join(" ")} validate did not accept the mounted config:\n${validated}`);
  log(`  ${settings.entrypoint.join(" ")} validate → config ok`);

  const logFile = join(dirname(root), "daemon.log");
  const logFd = openSync(logFile, "w");
  const child = spawn(program, [...entryArgs, ...settings.cmd], { cwd: app, env: { ...env, ...vars }, stdio: ["ignore", logFd, logFd], ...asUser });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const tail = () => readFileSync(logFile, "utf8").trim().split("\n").slice(-30).join("\n");
  log(`  started ${settings.entrypoint.join(" ")} ${settings.cmd.join(" ")} as uid ${asUser.uid ?? process.getuid?.()} (listen 127.0.0.1:${port}; log ${logFile})`);

  try {
    // HEALTHCHECK: the image's command, pointed at this port.
    const health = settings.healthcheck;
    check(health, "the image has no HEALTHCHECK");
    const [healthProgram, ...healthArgs] = health.command;
    const probe = (url: string) =>
      spawnSync(healthProgram!, healthArgs, { env: { ...env, RETROHOOK_HEALTHCHECK_URL: url }, cwd: app, timeout: 10_000, ...asUser }).status;
    const deadline = Date.now() + 30_000;
    let status = probe(`http://127.0.0.1:${port}/healthz`);
    while (status !== 0 && Date.now() < deadline && exitCode === undefined) {
      await sleep(500);
      status = probe(`http://127.0.0.1:${port}/healthz`);
    }
    check(exitCode === undefined, `the daemon exited with ${exitCode} before it was healthy:\n${tail()}`);
    check(status === 0, `the HEALTHCHECK command did not pass within 30 s:\n${tail()}`);
    log(`  HEALTHCHECK ${health.command.slice(0, 2).join(" ")} … → healthy`);
    const closed = await freePort();
    check(probe(`http://127.0.0.1:${closed}/healthz`) === 1, "the HEALTHCHECK command passes against a closed port: it checks nothing");
    log("  HEALTHCHECK against a closed port → exit 1");

    const base = `http://127.0.0.1:${port}`;
    const anonymous = await fetch(`${base}/api/status`);
    check(anonymous.status === 401, `GET /api/status without the admin token answered ${anonymous.status}, expected 401`);
    const authorised = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${adminToken}` } });
    check(authorised.status === 200, `GET /api/status with the admin token (from admin_token_file) answered ${authorised.status}`);
    log("  admin API: 401 without the token, 200 with the token from admin_token_file");

    const pollDeadline = Date.now() + 20_000;
    while (fake.requests.length === 0 && Date.now() < pollDeadline) await sleep(250);
    check(fake.requests.length > 0, `the daemon never polled the fake source:\n${tail()}`);
    check(existsSync(stateFile), `no state file at ${stateFile} (the /data volume)`);
    log(`  polled the source (${fake.requests.length} requests); state in ${relative(root, stateFile)}`);

    child.kill("SIGTERM");
    const code = await Promise.race([exited, sleep(20_000).then(() => "timeout" as const)]);
    check(code === 0, `after SIGTERM through ${settings.entrypoint[0]} the daemon ended with ${code}, expected exit 0:\n${tail()}`);
    log(`  SIGTERM → exit 0 (receiver got ${received} deliveries)`);
  } finally {
    if (exitCode === undefined) child.kill("SIGKILL");
    await fake.close();
    await new Promise((resolve) => receiver.close(resolve));
  }
}

// ---------------------------------------------------------------------------------------------
// 4. npm pack

async function checkPack(copy: string, files: string[], base: string): Promise<void> {
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  const packDir = join(base, "pack");
  mkdirSync(packDir);
  log("npm pack (prepare builds dist/ from the copied sources)");
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: copy })) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(packDir, packed[0]!.filename);
  const inTarball = new Set(packed[0]!.files.map((f) => f.path));
  const manifest = JSON.parse(readFileSync(join(copy, "package.json"), "utf8")) as { version: string };

  const required = ["package.json", "bin/retrohook.js", "dist/cli/entry.js", "README.md", "LICENSE", "config.example.yaml"];
  required.push(...files.filter((f) => f.startsWith("examples/")));
  // Every compiled source file (the demo's simulators under dist/simulators/ among them).
  // The web UI's browser modules (src/server/ui/app/) are not compiled one by one: `npm run build`
  // bundles them into dist/server/ui/app.bundle.js.
  const sources = files.filter((f) => f.startsWith("src/") && f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("src/server/ui/app/"));
  required.push(...sources.map((f) => `dist/${f.slice(4, -3)}.js`), "dist/server/ui/app.bundle.js");
  const fakes = sources.filter((f) => /^src\/simulators\/[^/]+\/fake\.ts$/.test(f));
  check(fakes.length > 0, "no simulators found under src/simulators/*/fake.ts");
  // Non-TypeScript assets under src/ (if any) are not compiled; tsc leaves them behind.
  const missing = required.filter((f) => !inTarball.has(f));
  check(missing.length === 0, `the tarball lacks: ${missing.slice(0, 20).join(", ")}${missing.length > 20 ? ` and ${missing.length - 20} more` : ""}`);
  const forbidden = [...inTarball].filter((f) => /^(src|test|bench|scripts|\.ci|node_modules|data|docs)\//.test(f) || /\.(sqlite|tgz)$/.test(f) || /\.test\.js$/.test(f));
  check(forbidden.length === 0, `the tarball holds files it should not: ${forbidden.slice(0, 10).join(", ")}`);
  log(`  ${packed[0]!.filename}: ${inTarball.size} files, ${Math.round(statSync(tarball).size / 1024)} KB; the CLI, all ${sources.length} compiled modules (${fakes.length} simulators), README, LICENSE, examples; no sources or tests`);

  const install = join(base, "install");
  mkdirSync(install);
  writeFileSync(join(install, "package.json"), `${JSON.stringify({ name: "retrohook-pack-check", private: true }, null, 2)}\n`);
  const t0 = Date.now();
  log("  npm install <tarball> in an empty folder (dependencies from the registry; builds better-sqlite3)");
  run("npm", ["install", tarball, "--no-audit", "--no-fund"], { cwd: install });
  log(`    done in ${Math.round((Date.now() - t0) / 1000)} s`);
  const version = run("npx", ["--no-install", "retrohook", "--version"], { cwd: install }).trim();
  check(version === manifest.version, `npx retrohook --version printed "${version}", expected ${manifest.version}`);
  log(`  npx retrohook --version → ${version}`);
  const schema = JSON.parse(run("npx", ["--no-install", "retrohook", "schema"], { cwd: install })) as { $schema?: string };
  check(typeof schema.$schema === "string", "npx retrohook schema printed no JSON Schema");
  const demo = run("npx", ["--no-install", "retrohook", "demo", "--seconds", "15", "--data", join(install, "data")], { cwd: install, timeout: 90_000 });
  const verified = demo.split("\n").filter((line) => line.includes("(signature verified)")).length;
  check(verified >= 1 && /stopping: \d+ webhooks received and verified/.test(demo), `npx retrohook demo delivered no verified webhook:\n${demo.slice(-2000)}`);
  log(`  npx retrohook schema → JSON Schema; npx retrohook demo --seconds 15 → ${verified} verified webhooks`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const base = mkdtempSync(join(tmpdir(), "retrohook-replay-"));
  chmodSync(base, 0o755);
  let ok = false;
  try {
    const files = repoFiles();
    const copy = join(base, "repo");
    copyFiles(files, copy);
    log(`copied ${files.length} repo files (git: tracked and not ignored) to ${copy}`);

    if (!args.has("--skip-docker")) {
      const file = parseDockerfile(readFileSync(join(copy, "Dockerfile"), "utf8"));
      checkReplayable(file);
      const ignored = dockerignore(existsSync(join(copy, ".dockerignore")) ? readFileSync(join(copy, ".dockerignore"), "utf8") : "");
      const contextFiles = files.filter((f) => !ignored(f));
      const context = join(base, "context");
      for (const f of contextFiles) cp(join(copy, f), join(context, f));
      log(`build context: ${contextFiles.length} files after .dockerignore`);
      const stages: StageFs[] = [];
      file.stages.forEach((stage, index) => stages.push(replayStage(stage, index, context, stages, join(base, "stages"))));
      log(`final stage ${file.stages.at(-1)!.name ?? ""}: checks`);
      await checkImage(file, stages.at(-1)!, contextFiles);
    }
    if (!args.has("--skip-pack")) await checkPack(copy, files, base);
    ok = true;
    log("Dockerfile replay and npm pack checks passed");
    return 0;
  } catch (error) {
    process.stderr.write(`\n[replay] FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    if (!(error instanceof ReplayError) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return 1;
  } finally {
    if (args.has("--keep")) log(`temporary folder kept: ${base}`);
    else rmSync(base, { recursive: true, force: true });
    if (!ok && !args.has("--keep")) log("run with --keep to look at the temporary folder");
  }
}

process.exitCode = await main();
