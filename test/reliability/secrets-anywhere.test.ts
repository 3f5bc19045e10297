import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/telemetry/logger.js";
import { closingAfterEach } from "../helpers/closing.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { startReceiver } from "../helpers/receiver.js";
import { tempDir } from "../helpers/tmp.js";
import { NEVER, startDaemon } from "../server/harness.js";

/**
 * Issue #27, items 10 and 11, and its secrets sweep. A key in a `rest` source's `query:` (under
 * a name no list knew), a value in a path, a header, a target URL from `url_file`: every value
 * that came from `${…}` or a `*_file` is a secret wherever it lands. A vendor error echoing them
 * all is provoked; logs (debug), the admin API, the UI, /metrics, `status`, `validate` and the
 * state file are read: 0 leaks. Failed on 0d4e5a7 (the query key and field leaked into logs,
 * the admin API and the state file).
 */
const VALUES = {
  QUERY_KEY: "SWEEPqueryKey7Tq2xx",
  QUERY_FIELD: "SWEEPfieldVal9Kp4xx",
  PATH_SECRET: "SWEEPpathTok5Lm8xx",
  HEADER_SECRET: "SWEEPheaderTok1Zr6",
  URL_TOKEN: "SWEEPurlTok3Qw6xxyy",
  BOT_TOKEN: "SWEEPbotTok8Hn2xxzz",
};
const ADMIN = "SWEEPadminTok-Vx8Qm2ZtR7pL0xW5nB8cH1sD4fG6j";

function leaks(surface: string, text: string): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(VALUES)) {
    for (const form of [value, encodeURIComponent(value), Buffer.from(value).toString("base64").replace(/=+$/, "")]) {
      if (text.includes(form)) found.push(`${surface}: ${name}`);
    }
  }
  return found;
}

describe("values from ${…} and *_file are secrets wherever they land", () => {
  const closeLater = closingAfterEach();

  it("query, path, header and URL (url_file and ${…}) secrets: 0 leaks over logs, admin API, UI, metrics, status, validate and the state file", async () => {
    const listPath = `/v1/${VALUES.PATH_SECRET}/items`;
    const api = closeLater(await startFakeRest({ path: listPath }));
    api.create();
    const receiver = closeLater(await startReceiver());
    const dir = tempDir();
    writeFileSync(join(dir, "target-url"), `${receiver.url}/services/T0/B0/${VALUES.URL_TOKEN}\n`);
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", format: "json", destination: new Writable({ write: (chunk: Buffer, _e, cb) => void (lines.push(chunk.toString()), cb()) }) });
    const env = { ...VALUES, REST_TOKEN: api.token, RECEIVER_PORT: new URL(receiver.url).port };
    const config = {
      server: { listen: "127.0.0.1:0", admin_token: ADMIN },
      sources: [
        {
          name: "legacy",
          type: "rest",
          base_url: api.url,
          headers: { Authorization: "Bearer ${REST_TOKEN}", "X-Client": "${HEADER_SECRET}" },
          query: { key: "${QUERY_KEY}", filter: "${QUERY_FIELD}" },
          schedule: NEVER,
          reconcile: NEVER,
          start: "backfill",
          resources: [{ name: "items", type_prefix: "item", path: "/v1/${PATH_SECRET}/items" }],
        },
      ],
      // A Telegram-style target URL written with ${…} in the config itself.
      targets: [{ name: "slack", url_file: "target-url" }, { name: "bot", url: "http://127.0.0.1:${RECEIVER_PORT}/bot${BOT_TOKEN}/send" }],
    };
    writeFileSync(join(dir, "config.yaml"), JSON.stringify({ state: { url: "sqlite://./state.sqlite" }, ...config }));
    const daemon = await startDaemon(config, { logger, dir, env });
    closeLater({ close: () => daemon.stop() });
    await receiver.waitFor(2);
    expect(receiver.requests.some((r) => r.path.includes(VALUES.BOT_TOKEN))).toBe(true);

    // The vendor answers with an error that echoes every value it was sent.
    const echo = `bad request GET ${listPath}?key=${VALUES.QUERY_KEY}&filter=${VALUES.QUERY_FIELD} client ${VALUES.HEADER_SECRET} (${encodeURIComponent(VALUES.QUERY_KEY)})`;
    api.injectFault({ fault: { type: "status", status: 400, body: { error: echo } }, times: 10 });
    await daemon.api("POST", "/api/sources/legacy/pass", { wait: true }, ADMIN);

    const found: string[] = [];
    for (const path of ["/api/status", "/api/sources/legacy", "/api/targets/slack", "/api/targets/bot", "/api/deliveries?target=slack", "/api/deliveries?target=bot", "/api/log", "/api"]) {
      const answer = await daemon.api("GET", path, undefined, ADMIN);
      found.push(...leaks(`admin API ${path}`, answer.text));
    }
    const metrics = await fetch(`${daemon.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    found.push(...leaks("/metrics", await metrics.text()));
    for (const page of ["/", "/ui/app.js"]) {
      const ui = await fetch(`${daemon.url}${page}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      found.push(...leaks(`UI ${page}`, await ui.text()));
    }
    const { main } = await import("../../src/cli/main.js");
    for (const command of ["status", "validate"]) {
      let out = "";
      await main([command, "-c", join(dir, "config.yaml")], { out: (t) => void (out += t), err: (t) => void (out += t), env: { ...process.env, ...env, RETROHOOK_LOG_LEVEL: "silent" } });
      found.push(...leaks(command, out));
    }
    await daemon.stop();
    found.push(...leaks("logs", lines.join("")));
    for (const suffix of ["", "-wal"]) {
      const file = join(dir, `state.sqlite${suffix}`);
      if (existsSync(file)) found.push(...leaks(`state file${suffix}`, readFileSync(file).toString("latin1")));
    }
    expect(lines.join("")).toMatch(/pass failed/);
    expect(found).toEqual([]);
  });
});
