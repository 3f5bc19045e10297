import { readFileSync } from "node:fs";

let cached: string | undefined;

/** The version from package.json (one folder above this file, in src/ and dist/ alike). */
export function packageVersion(): string {
  if (!cached) {
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    cached = manifest.version;
  }
  return cached;
}
