import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkServerConfig } from "../../src/server/listen.js";
import { captureLogger } from "../delivery/harness.js";
import { inProcessRunner } from "../chaos/lib/once.js";
import { closingAfterEach } from "../helpers/closing.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { tempDir } from "../helpers/tmp.js";
import { NEVER, startDaemon } from "../server/harness.js";

/**
 * Issue #27, item 13. `admin_token: "1"` was accepted with a public bind; `/login` took any
 * number of wrong tokens without slowing down; `status` on a state path that is a folder said
 * "disk full or failing?". Failed on d0183c3 (token accepted; the 6th wrong sign-in got 401,
 * not 429; status blamed the disk).
 */
const STRONG = "q2V0n7m1yJXc4bQ8Zp6tLw3sRf9HkDa0eGuN5iYoTxE="; // openssl rand -base64 32

describe("admin_token strength", () => {
  it("is refused below 32 bytes of entropy when listen is not loopback, saying how to make one", () => {
    for (const weak of ["1", "password", "correct-horse-battery", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ADMIN-TOKEN-31337-zq"]) {
      expect(() => checkServerConfig({ listen: "0.0.0.0:8080", admin_token: weak }), weak).toThrow(/admin_token is too weak .*at least 32 bytes of entropy.*openssl rand -base64 32/);
    }
    expect(() => checkServerConfig({ listen: "0.0.0.0:8080", admin_token: STRONG })).not.toThrow();
    expect(() => checkServerConfig({ listen: "0.0.0.0:8080", admin_token: "3f1c9a0b7e6d5c4b3a29181706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3" })).not.toThrow();
    expect(() => checkServerConfig({ listen: "127.0.0.1:8080", admin_token: "1" })).not.toThrow();
  });
});

describe("/login", () => {
  const closeLater = closingAfterEach();

  it("slows down a client after 5 wrong tokens (429 with Retry-After, doubling) and logs each refusal", async () => {
    const api = closeLater(await startFakeRest());
    const log = captureLogger();
    const daemon = await startDaemon({ server: { listen: "127.0.0.1:0", admin_token: STRONG }, sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER })], targets: [] }, { logger: log.logger });
    closeLater({ close: () => daemon.stop() });
    const login = (token: string) => fetch(`${daemon.url}/login`, { method: "POST", body: new URLSearchParams({ token }), redirect: "manual" });

    for (let i = 0; i < 5; i += 1) expect((await login(`wrong-${i}`)).status).toBe(401);
    const blocked = await login("wrong-5");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // While blocked even the right token waits: guessing must not go on at full speed.
    expect((await login(STRONG)).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await login("wrong-6")).status).toBe(401);
    const longer = await login("wrong-7");
    expect(longer.status).toBe(429);
    expect(Number(longer.headers.get("retry-after"))).toBeGreaterThanOrEqual(2);
    const refusals = log.lines.filter((l) => /admin sign-in refused/.test(l.msg));
    expect(refusals.length).toBeGreaterThanOrEqual(8);
    expect(refusals.map((l) => l.failures).filter((n) => n !== undefined)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(refusals.some((l) => /too many wrong tokens/.test(l.msg))).toBe(true);
    expect(log.text()).not.toContain(STRONG);
  });
});

describe("status on a state path that is a folder", () => {
  it("says what run and once say: the path is a folder", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "data", "state.sqlite"), { recursive: true });
    const { path } = writeConfig({ sources: [restSourceYaml("http://127.0.0.1:9", "tok3nTok3nX")], targets: [] }, dir);
    for (const command of ["status", "once", "run"]) {
      const result = await inProcessRunner([command, "-c", path]);
      expect(result.code, command).toBe(1);
      expect(result.stderr, command).toMatch(/state file .*state\.sqlite is a folder, not a file/);
      expect(result.stderr, command).not.toMatch(/disk/);
    }
  });
});
