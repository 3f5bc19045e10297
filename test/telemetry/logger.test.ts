import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { logFormat, scrubUrl } from "../../src/telemetry/logger.js";

const dir = mkdtempSync(join(tmpdir(), "retrohook-logger-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** stderr of a process that logs two lines and exits at once (nothing may be lost). */
function logLines(env: Record<string, string>): string {
  const script = join(dir, "log.ts");
  const logger = pathToFileURL(join(import.meta.dirname, "../../src/telemetry/logger.ts")).href;
  writeFileSync(
    script,
    `import { createLogger, registerSecrets } from ${JSON.stringify(logger)};
registerSecrets(["SECRET-log-value-1234"]);
const log = createLogger();
log.info({ source: "erp", url: "https://erp.example/list?api_token=abc123" }, "pass done SECRET-log-value-1234");
log.error({ err: "boom" }, "last line before exit");
process.exit(3);
`,
  );
  const run = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", env: { ...process.env, ...env } });
  expect(run.status).toBe(3);
  return run.stderr;
}

describe("log format", () => {
  it("is pretty on a terminal and JSON otherwise; RETROHOOK_LOG_FORMAT overrides either way", () => {
    expect(logFormat({}, true)).toBe("pretty");
    expect(logFormat({}, false)).toBe("json");
    expect(logFormat({ RETROHOOK_LOG_FORMAT: "json" }, true)).toBe("json");
    expect(logFormat({ RETROHOOK_LOG_FORMAT: " Pretty " }, false)).toBe("pretty");
    expect(logFormat({ RETROHOOK_LOG_FORMAT: "fancy" }, false)).toBe("json");
  });

  it("JSON lines on stderr (not a terminal here): scrubbed, and the last line before an exit is kept", () => {
    const lines = logLines({}).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ["info", "pass done ***"],
      ["error", "last line before exit"],
    ]);
    expect(lines[0]!.url).toBe("https://erp.example/list?api_token=***");
  });

  it("pretty lines the same way: synchronous, scrubbed before formatting", () => {
    const text = logLines({ RETROHOOK_LOG_FORMAT: "pretty" });
    expect(text).toMatch(/INFO.*: pass done \*\*\*/);
    expect(text).toMatch(/api_token=\*\*\*/);
    expect(text).toMatch(/ERROR.*: last line before exit/);
    expect(text).not.toContain("SECRET-log-value-1234");
    expect(text).not.toContain("abc123");
    expect(text).not.toMatch(/^\{/m);
  });
});

describe("scrubUrl", () => {
  it("removes user:password@ and query tokens wherever they are, and leaves text with neither as it is", () => {
    expect(scrubUrl("connect nats://bob:hunter2@broker:4222 failed")).toBe("connect nats://***@broker:4222 failed");
    expect(scrubUrl("GET https://erp.example/list?page=2&api_token=abc123 -> 500")).toBe("GET https://erp.example/list?page=2&api_token=*** -> 500");
    expect(scrubUrl("amqp://u:p@mq/?password=x")).toBe("amqp://***@mq/?password=***");
    expect(scrubUrl("mail ops@example.com, a=b")).toBe("mail ops@example.com, a=b");
    const delivered = "JetStream ack: stream ORDERS, seq 42";
    expect(scrubUrl(delivered)).toBe(delivered);
  });
});
