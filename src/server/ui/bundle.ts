import { existsSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The web UI's script: the TypeScript modules of ./app/ (browser code, type-checked by
 * ./app/tsconfig.json), bundled by esbuild into one file served as /ui/app.js.
 *
 * - `npm run build` runs this module after tsc (`node dist/server/ui/bundle.js`), which writes
 *   dist/server/ui/app.bundle.js; dist/ (and the npm package, and the image) ship that file.
 * - Run from source (tsx: the tests, `npm run chaos`), there is no bundle beside this module:
 *   the script is bundled in memory on first use, with the same options. esbuild is a
 *   development dependency, loaded only then.
 */

/**
 * The entry module: beside this one when it runs from source (or from a per-file transpiled
 * copy of src/, as the bench and chaos runs use); from dist/, the sources in src/ of the package
 * root, three levels up in both trees.
 */
function entry(): string {
  const candidates = ["./app/main.ts", "./app/main.js", "../../../src/server/ui/app/main.ts"].map((path) => fileURLToPath(new URL(path, import.meta.url)));
  return candidates.find((path) => existsSync(path)) ?? candidates[0]!;
}
/** Where the build writes the bundle, and where the shipped daemon reads it. */
export const BUNDLE_FILE = fileURLToPath(new URL("./app.bundle.js", import.meta.url));

interface EsbuildSync {
  buildSync(options: Record<string, unknown>): { outputFiles?: Array<{ text: string }> };
}

/** Bundles ./app/main.ts (esbuild, one IIFE, not minified). */
export function bundleApp(): string {
  let esbuild: EsbuildSync;
  try {
    esbuild = createRequire(import.meta.url)("esbuild") as EsbuildSync;
  } catch {
    throw new Error(`the web UI's script ${BUNDLE_FILE} is missing and esbuild is not installed to build it: run \`npm run build\``);
  }
  const result = esbuild.buildSync({
    entryPoints: [entry()],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2020",
    charset: "utf8",
    legalComments: "none",
    logLevel: "silent",
  });
  return result.outputFiles![0]!.text;
}

let cached: string | undefined;

/** The script the daemon serves: the built bundle when there is one, else bundled now. */
export function appScript(): string {
  cached ??= existsSync(BUNDLE_FILE) ? readFileSync(BUNDLE_FILE, "utf8") : bundleApp();
  return cached;
}

// `node dist/server/ui/bundle.js` (the end of `npm run build`): write the bundle beside it.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(BUNDLE_FILE), { recursive: true });
  writeFileSync(BUNDLE_FILE, bundleApp());
}
