import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * Child processes of the bench and the chaos suite run JavaScript as `npm run build` would emit
 * it, under plain `node`: `node --import tsx` adds a loader thread (about 30 MB of RSS) and
 * per-module transpiling that the shipped daemon does not have. Each file of the given folders
 * is transpiled on its own (TypeScript's transpileModule: no type check; `npm run typecheck`
 * does that) into `<dir>/build`, beside a link to node_modules and a copy of package.json.
 * `npm test`'s CLI children use the same layout made by esbuild (`transpileWithEsbuild`): the
 * transpiler tsx runs src/ with, five times faster than transpileModule file by file.
 */

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

function transpileTree(from: string, to: string): number {
  let files = 0;
  for (const name of readdirSync(from)) {
    const path = join(from, name);
    if (statSync(path).isDirectory()) {
      files += transpileTree(path, join(to, name));
      continue;
    }
    if (!name.endsWith(".ts") || name.endsWith(".d.ts")) continue;
    const output = ts.transpileModule(readFileSync(path, "utf8"), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: false },
      fileName: path,
    });
    mkdirSync(to, { recursive: true });
    writeFileSync(join(to, name.replace(/\.ts$/, ".js")), output.outputText);
    files += 1;
  }
  return files;
}

/** Transpiles `folders` of the repository into `<dir>/build`; returns that folder. */
export function transpileForNode(dir: string, folders: readonly string[]): { root: string; files: number; ms: number } {
  const started = performance.now();
  const root = join(dir, "build");
  let files = 0;
  for (const folder of folders) files += transpileTree(join(ROOT, folder), join(root, folder));
  linkPackage(root);
  return { root, files, ms: performance.now() - started };
}

function linkPackage(root: string): void {
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
  copyFileSync(join(ROOT, "package.json"), join(root, "package.json"));
}

function typescriptFiles(from: string): string[] {
  return readdirSync(from).flatMap((name) => {
    const path = join(from, name);
    if (statSync(path).isDirectory()) return typescriptFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

interface EsbuildSync {
  buildSync(options: Record<string, unknown>): { errors: unknown[] };
}

/** `transpileForNode`'s layout, each file transpiled on its own by esbuild (a development dependency). */
export function transpileWithEsbuild(dir: string, folders: readonly string[]): { root: string; files: number; ms: number } {
  const started = performance.now();
  const esbuild = createRequire(import.meta.url)("esbuild") as EsbuildSync;
  const root = join(dir, "build");
  let files = 0;
  for (const folder of folders) {
    const entryPoints = typescriptFiles(join(ROOT, folder));
    esbuild.buildSync({
      entryPoints,
      outbase: join(ROOT, folder),
      outdir: join(root, folder),
      bundle: false,
      format: "esm",
      platform: "node",
      target: "es2022",
      logLevel: "error",
      tsconfigRaw: { compilerOptions: { target: "ES2022", useDefineForClassFields: true } },
    });
    files += entryPoints.length;
  }
  linkPackage(root);
  return { root, files, ms: performance.now() - started };
}
