/**
 * The container files, checked without a Docker engine (the full replay, which builds and runs
 * the image's steps, is .ci/docker-replay.sh): the Dockerfile is one the replay can follow, and
 * the Dockerfile, the container's example config, compose.example.yaml and .dockerignore agree.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { commands } from "../../src/cli/commands/index.js";
import { parseConfig } from "../../src/config/load.js";
import { checkServerConfig, parseListen } from "../../src/server/listen.js";

/** What `openssl rand -base64 32` prints (a public listener refuses weaker admin tokens). */
const STRONG_TOKEN = "Yk3r9Qm2ZtV7pL0xW5nB8cH1sD4fG6jA2eR9uI0oP3w=";
import { readme, readmeBlock, shellCommands } from "../helpers/readme.js";
import { tempDir } from "../helpers/tmp.js";
import { checkReplayable, copyOf, dockerignore, imageNodeFlags, parseDockerfile, ReplayError, runSteps, runtimeSettings, type Dockerfile } from "./dockerfile.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const dockerfile = (): Dockerfile => parseDockerfile(read("Dockerfile"));
const runs = (file: Dockerfile, stage: number) =>
  file.stages[stage]!.instructions.filter((i) => i.keyword === "RUN").flatMap((i) => runSteps(i));

interface Compose {
  services: Record<string, {
    volumes: string[];
    secrets: string[];
    environment: Record<string, string>;
    healthcheck: { test: string[] };
    stop_grace_period?: string;
  }>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

/** Does some version of `major` satisfy a range like ">=20.19 <21 || >=22.12"? */
function acceptsMajor(range: string, major: number): boolean {
  const version = [major, 999, 0];
  const compare = (a: number[], b: number[]) => a.map((n, i) => n - (b[i] ?? 0)).find((d) => d !== 0) ?? 0;
  return range.split("||").some((alternative) =>
    alternative.trim().split(/\s+/).every((comparator) => {
      const match = /^(>=|<=|>|<|=)?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(comparator);
      if (!match) return /^\d+\.x$/.test(comparator) && Number(comparator.split(".")[0]) === major;
      const order = compare(version, [Number(match[2]), Number(match[3] ?? 0), Number(match[4] ?? 0)]);
      return { ">=": order >= 0, "<=": order <= 0, ">": order > 0, "<": order < 0, "=": order === 0 }[match[1] ?? "="]!;
    }),
  );
}

/** package.json's engines and better-sqlite3's accept Node.js `major`. */
function expectNodeMajorAccepted(major: number): void {
  const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
  expect(acceptsMajor(engines, major), `package.json engines "${engines}"`).toBe(true);
  const sqlite = (JSON.parse(read("node_modules/better-sqlite3/package.json")) as { engines: { node: string } }).engines.node;
  expect(acceptsMajor(sqlite, major), `better-sqlite3 engines "${sqlite}"`).toBe(true);
}

describe("Dockerfile", () => {
  it("uses only steps the replay knows", () => {
    expect(() => checkReplayable(dockerfile())).not.toThrow();
  });

  it("builds on one Node.js LTS major, on Debian slim, that package.json and better-sqlite3 accept", () => {
    const file = dockerfile();
    const major = Number(file.args.NODE_VERSION);
    expect(major % 2, "an even (LTS) major").toBe(0);
    for (const stage of file.stages) expect(stage.image).toBe(`node:${major}-bookworm-slim`);
    expectNodeMajorAccepted(major);
    expect(acceptsMajor(">=20.19 <21 || >=22.12", 21)).toBe(false);
  });

  it("builds in one stage (npm ci with prepare's build, then npm prune --omit=dev) and copies the pruned tree", () => {
    const file = dockerfile();
    expect(file.stages).toHaveLength(2);
    const [build, runtime] = file.stages;
    const buildSteps = runs(file, 0);
    const apt = buildSteps.find((s) => s.kind === "apt");
    expect(apt?.kind === "apt" && apt.packages).toEqual(expect.arrayContaining(["python3", "make", "g++"]));
    const npm = buildSteps.flatMap((s) => (s.kind === "npm" ? [s.command] : []));
    expect(npm[0]).toMatch(/^npm ci\b/);
    expect(npm.at(-1)).toMatch(/^npm prune --omit=dev\b/);
    expect(npm.join("\n"), "npm ci --omit=dev would run prepare without tsc").not.toMatch(/npm ci[^\n]*--omit=dev|--ignore-scripts/);
    expect(runs(file, 1).some((s) => s.kind === "npm"), "no npm install in the runtime stage").toBe(false);
    const fromBuild = runtime!.instructions.filter((i) => i.keyword === "COPY").map(copyOf).filter((c) => c.from === build!.name);
    expect(fromBuild.flatMap((c) => c.sources)).toEqual(expect.arrayContaining(["/app/package.json", "/app/node_modules", "/app/dist", "/app/bin"]));
    // What the build stage compiles must be in it: the sources tsc reads.
    const copied = build!.instructions.filter((i) => i.keyword === "COPY").flatMap((i) => copyOf(i).sources);
    expect(copied).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "src", "bin"]));
  });

  it("runs as a non-root user under tini, with the config path, the /data volume, port 8080 and a health check", () => {
    const file = dockerfile();
    const settings = runtimeSettings(file);
    expect(settings.user).toBeDefined();
    expect(["root", "0"]).not.toContain(settings.user);
    expect(settings.env.RETROHOOK_CONFIG).toBe("/config/config.yaml");
    expect(settings.volumes).toEqual(["/data"]);
    expect(settings.exposed).toEqual(["8080"]);
    expect(settings.entrypoint).toEqual(["/usr/bin/tini", "--", "node", ...imageNodeFlags(settings), `${settings.workdir}/bin/retrohook.js`]);
    // The daemon's memory figures in the README (npm run bench) are measured with these flags.
    expect(imageNodeFlags(settings)).toEqual(["--max-semi-space-size=4"]);
    expect(settings.cmd).toEqual(["run"]);
    const runtimeSteps = runs(file, 1);
    expect(runtimeSteps.some((s) => s.kind === "apt" && s.packages.includes("tini"))).toBe(true);
    expect(runtimeSteps.some((s) => s.kind === "apt" && s.packages.some((p) => ["g++", "make", "python3"].includes(p)))).toBe(false);
    expect(runtimeSteps.some((s) => s.kind === "chown" && s.owner.split(":")[0] === settings.user && s.paths.includes("/data"))).toBe(true);

    const health = settings.healthcheck!;
    expect(health.command.slice(0, 2)).toEqual(["node", "-e"]);
    expect(health.command[2]).toContain("http://127.0.0.1:8080/healthz");
    expect(health.command[2]).toContain("process.exit(1)");
    expect(Object.keys(health.flags)).toEqual(expect.arrayContaining(["interval", "timeout", "start-period", "retries"]));
  });

  it("refuses what the replay does not know", () => {
    const base = "ARG NODE_VERSION=24\nFROM node:${NODE_VERSION}-bookworm-slim AS build\nWORKDIR /app\n";
    const steps = (text: string) => checkReplayable(parseDockerfile(base + text));
    expect(() => steps("RUN npm ci && npm prune --omit=dev\n")).not.toThrow();
    expect(() => steps("ADD https://example.com/x.tgz /x\n")).toThrow(/does not know ADD/);
    expect(() => steps("RUN curl -fsSL https://example.com/install.sh\n")).toThrow(/does not know the command "curl/);
    expect(() => steps("RUN npm ci; npm run build\n")).toThrow(/only commands joined by &&/);
    expect(() => steps("RUN npm install -g something\n")).toThrow(/does not know the command/);
    expect(() => steps("COPY --chown=node:node src ./src\n")).toThrow(/COPY --chown/);
    expect(() => steps("COPY src/*.ts ./\n")).toThrow(/wildcards/);
    expect(() => steps("COPY --from=builder /app/dist ./dist\n")).toThrow(/no earlier stage/);
    expect(() => steps("ENTRYPOINT node bin/retrohook.js\n")).toThrow(/JSON exec form/);
    expect(() => steps("HEALTHCHECK CMD curl -f http://127.0.0.1:8080/healthz\n")).toThrow(ReplayError);
    expect(() => parseDockerfile("FROM node:${MISSING}\n")).toThrow(/not a declared ARG/);
    expect(() => parseDockerfile(`${base}RUN npm ci \\\n`)).toThrow(/continued instruction/);
    const continued = parseDockerfile(`${base}RUN npm ci \\\n  # a comment\n  && npm prune --omit=dev\n`);
    expect(runSteps(continued.stages[0]!.instructions.at(-1)!).map((s) => s.kind)).toEqual(["npm", "npm"]);
  });
});

describe(".dockerignore", () => {
  it("keeps local state, builds and secrets out, and everything the Dockerfile copies in", () => {
    const ignored = dockerignore(read(".dockerignore"));
    for (const path of [".git/config", "node_modules/x/index.js", "src/node_modules/x.js", "dist/cli/entry.js", "data/retrohook.sqlite", "x/state.sqlite-wal", "config.yaml", "secrets/erp_webhook_secret", ".env", "retrohook-0.1.0.tgz", "test/packaging/replay.ts"]) {
      expect(ignored(path), path).toBe(true);
    }
    const copied = dockerfile().stages.flatMap((s) => s.instructions).filter((i) => i.keyword === "COPY").map(copyOf).filter((c) => c.from === undefined).flatMap((c) => c.sources);
    for (const path of [...copied, "src/cli/entry.ts", "examples/docker-config.yaml"]) expect(ignored(path), path).toBe(false);
  });

  it("matches like Docker: from the context root, ** at any depth, ! re-includes, the last rule wins", () => {
    const ignored = dockerignore("# comment\nnode_modules\n**/*.log\ndocs\n!docs/keep.md\n/build/\n");
    expect(ignored("node_modules/a")).toBe(true);
    expect(ignored("src/node_modules/a")).toBe(false);
    expect(ignored("a/b/c.log")).toBe(true);
    expect(ignored("c.log")).toBe(true);
    expect(ignored("docs/other.md")).toBe(true);
    expect(ignored("docs/keep.md")).toBe(false);
    expect(ignored("build/x")).toBe(true);
    expect(ignored("src/build/x")).toBe(false);
  });
});

describe("the container's example config and compose.example.yaml", () => {
  it("examples/docker-config.yaml loads: state in the /data volume, 0.0.0.0 on the exposed port, the admin token from a file", () => {
    const settings = runtimeSettings(dockerfile());
    const text = read("examples/docker-config.yaml");
    const raw = parse(text) as { state: { url: string }; server: { listen: string; admin_token_file: string } };
    expect(raw.state.url).toMatch(new RegExp(`^sqlite://${settings.volumes[0]}/`));
    const listen = parseListen(raw.server.listen);
    expect(listen.host).toBe("0.0.0.0");
    expect(settings.exposed).toContain(String(listen.port));
    expect(raw.server.admin_token_file).toMatch(/^\/run\/secrets\//);

    // The same file with its /run/secrets files placed in a temporary folder.
    const dir = tempDir();
    const secretFiles = [...text.matchAll(/_file: (\/run\/secrets\/\S+)/g)].map((m) => m[1]!);
    expect(secretFiles.length).toBeGreaterThanOrEqual(3);
    let local = text;
    for (const file of secretFiles) {
      const path = join(dir, file.replace(/\//g, "_"));
      writeFileSync(path, file.endsWith("erp_webhook_secret") ? "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=\n" : `${STRONG_TOKEN}\n`);
      local = local.replace(file, path);
    }
    const env = { FAKTUROWNIA_DOMAIN: "mycompany", ERP_WEBHOOK_URL: "https://erp.example/hooks" };
    const config = parseConfig(local, { path: join(dir, "config.yaml"), env });
    expect(config.state.url).toBe(raw.state.url);
    expect(config.server.admin_token).toBe(STRONG_TOKEN);
    expect(() => checkServerConfig(config.server)).not.toThrow();
    const withoutToken = parseConfig(local.replace(/^\s*admin_token_file:.*$/m, ""), { path: join(dir, "config.yaml"), env });
    expect(() => checkServerConfig(withoutToken.server)).toThrow(/admin_token/);
    // A public listener wants a strong token: the README's `openssl rand -base64 32`, not a word.
    const weak = parseConfig(local, { path: join(dir, "config.yaml"), env });
    expect(() => checkServerConfig({ ...weak.server, admin_token: "token-1234" })).toThrow(/too weak.*openssl rand -base64 32/);
  });

  it("compose.example.yaml mounts the config and the volume where the image wants them, provides every secret and variable, and checks health like the image", () => {
    const settings = runtimeSettings(dockerfile());
    const compose = parse(read("compose.example.yaml")) as Compose;
    const service = Object.values(compose.services)[0]!;
    expect(service.volumes).toContain(`./config.yaml:${settings.env.RETROHOOK_CONFIG}:ro`);
    const dataVolume = service.volumes.find((v) => v.endsWith(`:${settings.volumes[0]}`));
    expect(dataVolume && Object.keys(compose.volumes)).toContain(dataVolume!.split(":")[0]);

    const example = read("examples/docker-config.yaml");
    const wanted = [...example.matchAll(/_file: \/run\/secrets\/(\S+)/g)].map((m) => m[1]!);
    expect(service.secrets.sort()).toEqual(wanted.sort());
    for (const name of wanted) expect(compose.secrets[name]?.file).toMatch(/^\.\/secrets\//);
    const variables = [...example.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!);
    for (const name of variables) expect(Object.keys(service.environment), name).toContain(name);

    expect(service.healthcheck.test).toEqual(["CMD", ...settings.healthcheck!.command]);
    expect(service.stop_grace_period).toBeDefined();

    // `docker compose up -d` reads compose.yaml, not compose.example.yaml: both say to copy it.
    expect(read("compose.example.yaml")).toMatch(/Copy this file to compose\.yaml/);
    expect(readme()).toMatch(/Compose reads `compose\.yaml`: copy it there[^\n]*\n[^\n]*`docker compose up -d`/);
  });
});

/** A shell command's words: quotes removed, `$PWD` kept as written. */
const words = (command: string): string[] => [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);

/** `docker run`'s options, image and command (the options this README uses). */
function dockerRun(command: string): { flags: Array<[string, string]>; bare: string[]; image: string; args: string[] } {
  const [docker, run, ...rest] = words(command);
  expect([docker, run]).toEqual(["docker", "run"]);
  const flags: Array<[string, string]> = [];
  const bare: string[] = [];
  let i = 0;
  for (; i < rest.length && rest[i]!.startsWith("-"); i += 1) {
    if (["-d", "--rm"].includes(rest[i]!)) bare.push(rest[i]!);
    else flags.push([rest[i]!, rest[++i]!]);
  }
  return { flags, bare, image: rest[i]!, args: rest.slice(i + 1) };
}

describe("the README's docker commands (no Docker engine here: checked against the Dockerfile; .ci/docker-replay.sh runs its steps)", () => {
  it("docker build / docker run mount the config, secrets and volume where the image wants them, give every variable, publish the exposed port on loopback", () => {
    const settings = runtimeSettings(dockerfile());
    const example = read("examples/docker-config.yaml");
    const config = parse(example) as { server: { listen: string } };
    const block = shellCommands(readmeBlock("sh", "docker build").body);
    const build = words(block.find((c) => c.startsWith("docker build"))!);
    const tag = build[build.indexOf("-t") + 1]!;
    expect(build.at(-1), "built from the repo's folder").toBe(".");
    const runs = block.filter((c) => c.startsWith("docker run")).map(dockerRun);
    expect(runs.map((r) => r.bare)).toEqual([["-d"], ["--rm"]]);
    for (const run of runs) {
      expect(run.image).toBe(tag);
      const mounts = run.flags.filter(([flag]) => flag === "-v").map(([, value]) => value.split(":"));
      expect(mounts, "the config, read-only, where RETROHOOK_CONFIG points").toContainEqual(["$PWD/config.yaml", settings.env.RETROHOOK_CONFIG, "ro"]);
      const secrets = mounts.find(([, inside]) => inside === "/run/secrets");
      expect(secrets, "the secrets folder").toEqual(["$PWD/secrets", "/run/secrets", "ro"]);
      for (const [, file] of example.matchAll(/_file: (\S+)/g)) expect(file!.startsWith(`${secrets![1]}/`), `${file} is in the mounted secrets folder`).toBe(true);
      const given = run.flags.filter(([flag]) => flag === "-e").map(([, value]) => value.split("=")[0]);
      for (const [, name] of example.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)) expect(given, `-e ${name}`).toContain(name);
    }
    // What the user prepares before: config.yaml from the example, and each secret file it reads.
    expect(readme()).toMatch(/Copy\s+\[examples\/docker-config\.yaml\]\(examples\/docker-config\.yaml\) to `config\.yaml`/);
    for (const [, name] of example.matchAll(/_file: \/run\/secrets\/(\S+)/g)) expect(readme(), `README names the secret file ${name}`).toContain(`\`${name}\``);
    const [daemon, once] = runs;
    expect(daemon!.args, "the image's CMD").toEqual([]);
    expect(daemon!.flags).toContainEqual(["-v", `retrohook-data:${settings.volumes[0]}`]);
    const publish = daemon!.flags.find(([flag]) => flag === "-p")![1].split(":");
    expect(publish[0], "published on the host's loopback").toBe("127.0.0.1");
    expect(settings.exposed).toContain(publish[2]);
    expect(parseListen(config.server.listen).port).toBe(Number(publish[2]));
    expect(once!.args).toEqual(["validate"]);
    expect(Object.keys(commands)).toContain(once!.args[0]);

    // `docker inspect -f '{{.State.Health.Status}}' retrohook`: the container's name, and a HEALTHCHECK to report.
    const name = daemon!.flags.find(([flag]) => flag === "--name")![1];
    const inspect = /`docker inspect -f '\{\{\.State\.Health\.Status\}\}' (\S+)`/.exec(readme());
    expect(inspect?.[1]).toBe(name);
    expect(settings.healthcheck).toBeDefined();
  });

  it("`docker build --build-arg NODE_VERSION=N`: the Dockerfile takes that ARG, and package.json and better-sqlite3 accept N", () => {
    const file = dockerfile();
    const [, major] = /`docker build --build-arg NODE_VERSION=(\d+)\b/.exec(readme()) ?? [];
    expect(major, "the README names a NODE_VERSION build-arg").toBeDefined();
    expect(Object.keys(file.args)).toContain("NODE_VERSION");
    expect(Number(major) % 2, "an even (LTS) major").toBe(0);
    expectNodeMajorAccepted(Number(major));
  });
});
