/**
 * What `npm pack` ships, and that the demo runs from it. The repository's package files are
 * copied to a temporary folder, packed there (`prepare` builds dist/), and the tarball is
 * unpacked as `node_modules/retrohook` of an empty project whose node_modules holds only the
 * package's runtime dependencies (linked from this checkout: no registry, no dev dependencies —
 * tsx and esbuild are out of reach, as in a user's install). The registry install of the same
 * tarball is part of .ci/docker-replay.sh (test/packaging/replay.ts).
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** What `npm pack` reads in the copy: the manifest's `files`, and what the build needs. */
const PACKAGE_INPUTS = ["package.json", "package-lock.json", ".npmrc", "tsconfig.json", "tsconfig.build.json", "bin", "src", "examples", "README.md", "LICENSE", "CHANGELOG.md", "config.example.yaml"];

interface Packed {
  filename: string;
  files: Array<{ path: string }>;
}

let work: string;
let app: string;
let shipped: Set<string>;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "retrohook-pack-"));
  const copy = join(work, "repo");
  for (const entry of PACKAGE_INPUTS) if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", work], { cwd: copy, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 280_000 });
  const packed = (JSON.parse(out) as Packed[])[0]!;
  shipped = new Set(packed.files.map((f) => f.path));

  const project = join(work, "project");
  app = join(project, "node_modules", "retrohook");
  mkdirSync(app, { recursive: true });
  execFileSync("tar", ["-xzf", join(work, packed.filename), "-C", app, "--strip-components=1"]);
  const manifest = JSON.parse(readFileSync(join(app, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  for (const name of Object.keys(manifest.dependencies)) {
    const link = join(project, "node_modules", name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", name), link, "dir");
  }
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The modules `from` imports, statically or dynamically, by relative path (as tsc emits them). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  return specifiers.map((specifier) => normalize(join(dirname(file), specifier)));
}

/** Every file of the package reachable from the CLI's entry points. */
function reachableFromCli(): Set<string> {
  const seen = new Set<string>();
  const queue = [join(app, "bin", "retrohook.js"), join(app, "dist", "cli", "entry.js")];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    queue.push(...importsOf(file));
  }
  return new Set([...seen].map((file) => relative(app, file)));
}

function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(app, join(entry.parentPath, entry.name)));
}

describe("npm pack", () => {
  it("ships the built CLI and the web UI's bundle, no sources or tests", () => {
    for (const file of ["bin/retrohook.js", "dist/cli/entry.js", "dist/server/ui/app.bundle.js", "README.md", "LICENSE", "config.example.yaml"]) {
      expect(shipped.has(file), file).toBe(true);
    }
    expect([...shipped].filter((f) => /^(src|test|bench|scripts|docs)\//.test(f))).toEqual([]);
    // The UI's browser modules ship only as the bundle.
    expect([...shipped].filter((f) => f.startsWith("dist/server/ui/app/"))).toEqual([]);
  });

  it("ships no simulator or fake the CLI cannot reach", () => {
    const reachable = reachableFromCli();
    const simulators = filesUnder(join(app, "dist", "simulators")).filter((f) => f.endsWith(".js"));
    expect(simulators.length).toBeGreaterThan(0);
    expect(simulators.filter((f) => !reachable.has(f))).toEqual([]);
    // Fakes anywhere else in dist/ (a fake left beside product code, a test fake compiled in).
    const fakes = [...shipped].filter((f) => f.endsWith(".js") && /(^|\/)(fakes?|fake-[^/]*)(\/|\.js$)/.test(f) && !f.startsWith("dist/simulators/"));
    expect(fakes).toEqual([]);
    expect(reachable.has("dist/simulators/fakturownia/fake.js")).toBe(true);
  });

  it("runs the demo from the unpacked package: verified webhooks arrive and the UI serves its bundle", async () => {
    const child = spawn(process.execPath, [join(app, "bin", "retrohook.js"), "demo", "--for", "12s", "--data", join(work, "demo-data")], {
      cwd: join(work, "project"),
      env: { PATH: process.env.PATH ?? "", HOME: work },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    let script: string | undefined;
    const code = await new Promise<number | null>((done) => {
      const poll = setInterval(() => {
        const ui = /admin UI and API:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (!ui || script !== undefined) return;
        script = "";
        fetch(`${ui[1]}/ui/app.js`)
          .then(async (response) => (script = response.ok ? await response.text() : `HTTP ${response.status}`))
          .catch((error: Error) => (script = error.message));
      }, 200);
      child.on("exit", (exitCode) => {
        clearInterval(poll);
        done(exitCode);
      });
    });
    expect(code, `demo exited ${code}:\n${out.slice(-2000)}\n${err.slice(-2000)}`).toBe(0);
    const verified = out.split("\n").filter((line) => line.includes("(signature verified)")).length;
    expect(verified, out.slice(-2000)).toBeGreaterThanOrEqual(1);
    expect(out).toMatch(/stopping: [1-9]\d* webhooks received and verified/);
    expect(script).toBe(readFileSync(join(app, "dist", "server", "ui", "app.bundle.js"), "utf8"));
  }, 120_000);
});
