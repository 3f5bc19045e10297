import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/tmp.js";

/**
 * Packages a daemon loads only when its config uses them: `pg` for PostgreSQL state, `jsonata`
 * for a target's filter or transform, `pino-pretty` for pretty log lines (the broker clients
 * load at a target's first connect, tested with the transports). A SQLite daemon posting over
 * HTTP with JSON logs — the common case — is about 30 MB smaller without them.
 */

const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const src = (file: string): string => pathToFileURL(join(process.cwd(), "src", file)).href;

/** Opens and closes the app of `yaml` in a fresh process; the packages it loaded that are named in `watch`. */
function loadedBy(yaml: string, options: { pretty?: boolean; withCompile?: boolean } = {}): string[] {
  const dir = tempDir();
  const script = `
    import { createRequire } from "node:module";
    const { parseConfig } = await import(${JSON.stringify(src("config/load.ts"))});
    const { openApp } = await import(${JSON.stringify(src("app.ts"))});
    const { createLogger } = await import(${JSON.stringify(src("telemetry/logger.ts"))});
    const logger = createLogger({ level: "silent", format: ${JSON.stringify(options.pretty ? "pretty" : "json")} });
    const config = parseConfig(${JSON.stringify(yaml)}, { path: ${JSON.stringify(join(dir, "config.yaml"))}, env: {} });
    const app = await openApp(config, { logger });
    await app.close();
    const names = new Set();
    for (const file of Object.keys(createRequire(import.meta.url).cache)) {
      const match = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)[\\\\/]/.exec(file);
      if (match) names.add(match[1]);
    }
    process.stdout.write(JSON.stringify([...names]));
  `;
  const out = execFileSync(process.execPath, ["--import", tsx, "--input-type=module", "-e", script], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  return (JSON.parse(out) as string[]).filter((name) => ["pg", "jsonata", "pino-pretty", "nats", "amqplib", "redis"].includes(name)).sort();
}

const base = `
state: { url: "sqlite://./state.sqlite" }
sources:
  - name: shop
    type: rest
    base_url: http://127.0.0.1:9/api
    schedule: "0 0 1 1 *"
    resources:
      - name: invoices
        path: /invoices
`;

describe("packages loaded only when the config uses them", () => {
  it("a SQLite daemon posting over HTTP with JSON logs loads none of pg, jsonata, pino-pretty or a broker client", () => {
    const yaml = `${base}targets:\n  - name: erp\n    url: http://127.0.0.1:9/hook\n    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n`;
    expect(loadedBy(yaml)).toEqual([]);
  });

  it("a filter loads jsonata, pretty logs load pino-pretty", () => {
    const yaml = `${base}targets:\n  - name: erp\n    url: http://127.0.0.1:9/hook\n    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n    filter: "type = 'invoice.created'"\n`;
    expect(loadedBy(yaml, { pretty: true })).toEqual(["jsonata", "pino-pretty"]);
  });
});
