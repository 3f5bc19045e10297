import { join } from "node:path";
import { ROOT, transpileForNode } from "../scripts/transpile.js";

/** Returns the folder holding the built `src/` and `bench/` (see scripts/transpile.ts for why). */
export function buildForChildren(dir: string): { root: string; files: number; ms: number } {
  return transpileForNode(dir, ["src", "bench"]);
}

/** Where a bench child script is: built JS under `root`, or the TypeScript source (for `--tsx`). */
export function childScript(root: string | undefined, name: string): string {
  if (!root) return join(ROOT, "bench", `${name}.ts`);
  return join(root, "bench", `${name}.js`);
}
