import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { ROOT } from "./cli.js";

/**
 * src/ transpiled file by file to plain ESM JavaScript (TypeScript's transpileModule, no type
 * check) under `<dir>/build`, beside a link to node_modules and a copy of package.json — so the
 * chaos run's daemons start like the shipped one, without tsx.
 */
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

export function buildCli(dir: string): { root: string; files: number } {
  const root = join(dir, "build");
  const files = transpileTree(join(ROOT, "src"), join(root, "src"));
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
  copyFileSync(join(ROOT, "package.json"), join(root, "package.json"));
  return { root, files };
}
