import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { secretValues } from "../../src/config/secrets.js";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { freePort } from "../helpers/ports.js";

/** `state.url` for PostgreSQL: accepted as written, from a file or a variable, its password a secret. */
const source = restSourceYaml("http://127.0.0.1:9", "tok-1234");

describe("state.url", () => {
  it("takes postgres:// as written, from ${VAR}, or from url_file; the password is a secret", () => {
    const url = "postgres://app:pa%24%24word-1@db.internal:5432/retrohook?schema=rh&sslmode=verify-full";
    const direct = writeConfig({ state: { url }, sources: [source] });
    const config = loadConfig(direct.path);
    expect(config.state.url).toBe(url);
    expect(secretValues(config)).toContain("pa$$word-1");

    const fromVar = writeConfig({ state: { url: "${STATE_URL}" }, sources: [source] });
    expect(loadConfig(fromVar.path, { STATE_URL: url }).state.url).toBe(url);

    const fromFile = writeConfig({ state: { url_file: "./state-url" }, sources: [source] });
    writeFileSync(join(fromFile.dir, "state-url"), `${url}\n`);
    expect(loadConfig(fromFile.path).state.url).toBe(url);
  });

  it("refuses other schemes, naming what it takes", () => {
    const { path } = writeConfig({ state: { url: "mysql://u:p@h/db" }, sources: [source] });
    expect(() => loadConfig(path)).toThrow(/state\.url.*postgres:\/\/user:password@host:5432\/database/);
  });

  it("validate says when the database does not answer, without the password (exit 1)", async () => {
    const { path } = writeConfig({ state: { url: `postgres://app:hunter2-secret@127.0.0.1:${await freePort()}/rh` }, sources: [source] });
    const result = await runCli(["validate", "-c", path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/state: postgres:\/\/[^@\s]*\*\*\*@127\.0\.0\.1:\d+\/rh \(PostgreSQL\): does not answer/);
    expect(result.stderr).toMatch(/is PostgreSQL running and reachable/);
    expect(result.stdout + result.stderr).not.toContain("hunter2-secret");
  });
});
