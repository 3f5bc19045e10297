import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { WorkerOptions } from "node:worker_threads";

/**
 * A worker thread's entry `name` (no extension) beside the module at `base` (its
 * `import.meta.url`). Run from source (tests, `tsx`), it is a .ts file: loaded through tsx's
 * require hook, since Node 20 applies no `--import` loader to a worker's own entry.
 */
export function workerScript(base: string, name: string): [string | URL, WorkerOptions] {
  if (!base.endsWith(".ts")) return [new URL(`./${name}.js`, base), {}];
  const entry = fileURLToPath(new URL(`./${name}.ts`, base));
  const tsx = createRequire(base).resolve("tsx/cjs/api");
  return [`require(${JSON.stringify(tsx)}).require(${JSON.stringify(entry)}, ${JSON.stringify(entry)})`, { eval: true }];
}
