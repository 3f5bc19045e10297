import { transpileForNode } from "../../../scripts/transpile.js";

/** src/ transpiled for the chaos run's daemons, so they start like the shipped one, without tsx (scripts/transpile.ts). */
export function buildCli(dir: string): { root: string; files: number } {
  return transpileForNode(dir, ["src"]);
}
