/**
 * Reads the Dockerfile (and .dockerignore) into a replay plan: what .ci/docker-replay.sh runs on a
 * machine without a Docker engine. It understands a small set of instructions and RUN commands
 * and throws on anything else, naming the line: a Dockerfile change the replay cannot follow
 * fails the check instead of silently drifting from what CI tested.
 */

export class ReplayError extends Error {}

export interface Instruction {
  keyword: string;
  /** Text after the keyword, flags removed, continuation lines joined. */
  args: string;
  /** `--from=build`, `--interval=30s`, … */
  flags: Record<string, string>;
  line: number;
}

export interface Stage {
  name: string | undefined;
  image: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  args: Record<string, string>;
  stages: Stage[];
}

const KNOWN = new Set(["ARG", "FROM", "RUN", "WORKDIR", "COPY", "ENV", "VOLUME", "USER", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD", "LABEL"]);

export function parseDockerfile(text: string): Dockerfile {
  const logical: Array<{ text: string; line: number }> = [];
  let buffer = "";
  let startLine = 0;
  text.split("\n").forEach((raw, index) => {
    const line = raw.replace(/\r$/, "");
    if (buffer === "" && /^\s*(#.*)?$/.test(line)) return; // comment or blank between instructions
    if (buffer !== "" && /^\s*(#.*)?$/.test(line)) return; // comment or blank inside a continued instruction
    if (buffer === "") startLine = index + 1;
    if (/\\\s*$/.test(line)) {
      buffer += `${line.replace(/\\\s*$/, "")} `;
      return;
    }
    logical.push({ text: (buffer + line).trim(), line: startLine });
    buffer = "";
  });
  if (buffer !== "") throw new ReplayError(`line ${startLine}: the file ends inside a continued instruction`);

  const file: Dockerfile = { args: {}, stages: [] };
  for (const { text: instructionText, line } of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(instructionText)!;
    const keyword = match[1]!.toUpperCase();
    if (!KNOWN.has(keyword)) throw new ReplayError(`line ${line}: the replay does not know ${keyword}; teach test/packaging/dockerfile.ts or drop it`);
    let rest = match[2]!;
    const flags: Record<string, string> = {};
    for (let flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest); flag; flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
      flags[flag[1]!] = flag[2]!;
      rest = rest.slice(flag[0].length);
    }
    const instruction: Instruction = { keyword, args: rest.trim(), flags, line };
    if (keyword === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new ReplayError(`line ${line}: FROM ${instruction.args}: expected "FROM image [AS name]"`);
      file.stages.push({ name: from[2], image: substitute(from[1]!, file.args, line), instructions: [] });
    } else if (file.stages.length === 0) {
      if (keyword !== "ARG") throw new ReplayError(`line ${line}: ${keyword} before the first FROM`);
      const [name, value = ""] = instruction.args.split("=", 2) as [string, string?];
      file.args[name] = value;
    } else {
      file.stages.at(-1)!.instructions.push(instruction);
    }
  }
  if (file.stages.length === 0) throw new ReplayError("no FROM in the Dockerfile");
  return file;
}

function substitute(text: string, args: Record<string, string>, line: number): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_all, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (!(name in args)) throw new ReplayError(`line ${line}: $${name} is not a declared ARG`);
    return args[name]!;
  });
}

/** An exec-form (JSON array) argument list; shell form is refused (signals, quoting). */
export function execForm(instruction: Instruction, text = instruction.args): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ReplayError(`line ${instruction.line}: ${instruction.keyword} must use the JSON exec form ["…", "…"] (shell form would put sh in front of node and swallow SIGTERM)`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((item) => typeof item === "string")) {
    throw new ReplayError(`line ${instruction.line}: ${instruction.keyword}: expected a non-empty JSON array of strings`);
  }
  return parsed as string[];
}

// ---------------------------------------------------------------------------------------------
// RUN commands

export type Step =
  | { kind: "apt"; packages: string[]; text: string }
  | { kind: "npm"; command: string }
  | { kind: "mkdir"; paths: string[] }
  | { kind: "chown"; owner: string; paths: string[] }
  | { kind: "skip"; text: string; why: string };

/** The steps of one RUN: `&&`-joined commands from a small known set. */
export function runSteps(instruction: Instruction): Step[] {
  const text = instruction.args;
  if (text.startsWith("[")) throw new ReplayError(`line ${instruction.line}: RUN in exec form is not replayed; use the shell form`);
  if (/[;|`]|\$\(|>|<|\|\|/.test(text)) {
    throw new ReplayError(`line ${instruction.line}: RUN ${text}: only commands joined by && are replayed (no ; | > $( ))`);
  }
  return text.split("&&").map((part) => part.trim().replace(/\s+/g, " ")).map((command) => step(command, instruction.line));
}

function step(command: string, line: number): Step {
  if (command === "apt-get update") return { kind: "skip", text: command, why: "package lists: the replay installs missing packages itself" };
  if (command === "rm -rf /var/lib/apt/lists/*") return { kind: "skip", text: command, why: "apt cache clean-up of the image layer" };
  const apt = /^apt-get install((?: -y| --no-install-recommends| -qq)+)((?: [a-z0-9][a-z0-9+.-]*)+)$/.exec(command);
  if (apt) {
    if (!apt[1]!.includes("-y")) throw new ReplayError(`line ${line}: apt-get install needs -y in a build`);
    return { kind: "apt", packages: apt[2]!.trim().split(" "), text: command };
  }
  if (/^npm (ci|prune|rebuild|run [a-z:-]+)( --?[a-z-]+(=[a-z]+)?)*$/.test(command)) return { kind: "npm", command };
  const mkdir = /^mkdir -p((?: \/[A-Za-z0-9._/-]+)+)$/.exec(command);
  if (mkdir) return { kind: "mkdir", paths: mkdir[1]!.trim().split(" ") };
  const chown = /^chown (?:-R )?([a-z0-9_-]+(?::[a-z0-9_-]+)?)((?: \/[A-Za-z0-9._/-]+)+)$/.exec(command);
  if (chown) return { kind: "chown", owner: chown[1]!, paths: chown[2]!.trim().split(" ") };
  throw new ReplayError(`line ${line}: the replay does not know the command "${command}"; teach test/packaging/dockerfile.ts (and .ci/docker-replay.sh) or change the Dockerfile`);
}

// ---------------------------------------------------------------------------------------------
// COPY

export interface Copy {
  /** Stage name, or undefined for the build context. */
  from: string | undefined;
  sources: string[];
  dest: string;
  line: number;
}

export function copyOf(instruction: Instruction): Copy {
  const unknownFlags = Object.keys(instruction.flags).filter((flag) => flag !== "from");
  if (unknownFlags.length > 0) throw new ReplayError(`line ${instruction.line}: COPY --${unknownFlags[0]} is not replayed`);
  const parts = instruction.args.startsWith("[") ? execForm(instruction) : instruction.args.split(/\s+/);
  if (parts.length < 2) throw new ReplayError(`line ${instruction.line}: COPY needs a source and a destination`);
  if (parts.some((part) => /[*?[\]]/.test(part))) throw new ReplayError(`line ${instruction.line}: COPY wildcards are not replayed; name the files`);
  return { from: instruction.flags.from, sources: parts.slice(0, -1), dest: parts.at(-1)!, line: instruction.line };
}

// ---------------------------------------------------------------------------------------------
// .dockerignore (Docker's rules: paths from the context root, `*` within a segment, `**` any
// depth, `!` re-includes, the last matching line wins; a match on a folder excludes its contents)

export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negate = line.startsWith("!");
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+|\/+$/g, "").replace(/^\.\//, "");
      return { negate, regex: globRegex(pattern) };
    });
  return (path) => {
    const parts = path.split("/");
    let excluded = false;
    for (const rule of rules) {
      for (let depth = 1; depth <= parts.length; depth++) {
        if (rule.regex.test(parts.slice(0, depth).join("/"))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function globRegex(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === "*" && pattern[i + 1] === "*") {
      const slash = pattern[i + 2] === "/";
      out += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (char === "*") out += "[^/]*";
    else if (char === "?") out += "[^/]";
    else out += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

// ---------------------------------------------------------------------------------------------
// The image's run-time settings

export interface RuntimeSettings {
  stage: Stage;
  env: Record<string, string>;
  workdir: string;
  user: string | undefined;
  volumes: string[];
  exposed: string[];
  healthcheck: { command: string[]; flags: Record<string, string> } | undefined;
  entrypoint: string[];
  cmd: string[];
}

/** The final stage's ENV, WORKDIR, USER, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT and CMD. */
export function runtimeSettings(file: Dockerfile): RuntimeSettings {
  const stage = file.stages.at(-1)!;
  const settings: RuntimeSettings = { stage, env: {}, workdir: "/", user: undefined, volumes: [], exposed: [], healthcheck: undefined, entrypoint: [], cmd: [] };
  for (const instruction of stage.instructions) {
    switch (instruction.keyword) {
      case "ENV": {
        const pair = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(instruction.args);
        if (!pair) throw new ReplayError(`line ${instruction.line}: write one ENV NAME=value per line (no quotes, no spaces)`);
        settings.env[pair[1]!] = pair[2]!;
        break;
      }
      case "WORKDIR":
        settings.workdir = instruction.args.startsWith("/") ? instruction.args : `${settings.workdir.replace(/\/$/, "")}/${instruction.args}`;
        break;
      case "USER":
        settings.user = instruction.args;
        break;
      case "VOLUME":
        settings.volumes.push(...(instruction.args.startsWith("[") ? execForm(instruction) : instruction.args.split(/\s+/)));
        break;
      case "EXPOSE":
        settings.exposed.push(...instruction.args.split(/\s+/));
        break;
      case "HEALTHCHECK": {
        const match = /^CMD\s+(.*)$/.exec(instruction.args);
        if (!match) throw new ReplayError(`line ${instruction.line}: HEALTHCHECK must be CMD [exec form]`);
        settings.healthcheck = { command: execForm(instruction, match[1]!), flags: instruction.flags };
        break;
      }
      case "ENTRYPOINT":
        settings.entrypoint = execForm(instruction);
        break;
      case "CMD":
        settings.cmd = execForm(instruction);
        break;
      default:
        break;
    }
  }
  return settings;
}

/** The Node flags the image starts retrohook with (`node <flags> …/bin/retrohook.js` in ENTRYPOINT). */
export function imageNodeFlags(settings: RuntimeSettings): string[] {
  const node = settings.entrypoint.indexOf("node");
  if (node < 0) throw new ReplayError("the image's ENTRYPOINT does not start retrohook with node");
  const flags: string[] = [];
  for (const arg of settings.entrypoint.slice(node + 1)) {
    if (!arg.startsWith("--")) break;
    flags.push(arg);
  }
  return flags;
}

/** Every RUN, COPY and run-time setting understood, before anything is executed. */
export function checkReplayable(file: Dockerfile): RuntimeSettings {
  for (const stage of file.stages) {
    for (const instruction of stage.instructions) {
      if (instruction.keyword === "RUN") runSteps(instruction);
      if (instruction.keyword === "COPY") {
        const copy = copyOf(instruction);
        if (copy.from !== undefined && !file.stages.slice(0, file.stages.indexOf(stage)).some((s) => s.name === copy.from)) {
          throw new ReplayError(`line ${instruction.line}: COPY --from=${copy.from}: no earlier stage of that name`);
        }
      }
    }
  }
  return runtimeSettings(file);
}
