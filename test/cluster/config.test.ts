import { describe, expect, it } from "vitest";
import { replicaId } from "../../src/cluster/replica.js";
import { loadConfig } from "../../src/config/load.js";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";

/** `cluster:` — accepted with PostgreSQL state only; the replica id's sources. */
const source = restSourceYaml("http://127.0.0.1:9", "tok-1234");

describe("cluster settings", () => {
  it("are taken with PostgreSQL state: lease as a duration (default 30s), replica_id optional", () => {
    const url = "postgres://app:pw@127.0.0.1:5432/rh";
    expect(loadConfig(writeConfig({ state: { url }, cluster: {}, sources: [source] }).path).cluster).toEqual({ lease: 30_000 });
    expect(loadConfig(writeConfig({ state: { url }, cluster: { lease: "3s", replica_id: "web-1" }, sources: [source] }).path).cluster).toEqual({ lease: 3000, replica_id: "web-1" });
    expect(loadConfig(writeConfig({ state: { url }, sources: [source] }).path).cluster).toBeUndefined();
    expect(() => loadConfig(writeConfig({ state: { url }, cluster: { lease: "500ms" }, sources: [source] }).path)).toThrow(/cluster\.lease.*at least 1s/);
    expect(() => loadConfig(writeConfig({ state: { url }, cluster: { replica_id: "a b" }, sources: [source] }).path)).toThrow(/cluster\.replica_id/);
    expect(() => loadConfig(writeConfig({ state: { url }, cluster: { leases: "3s" }, sources: [source] }).path)).toThrow(/cluster/);
    // A delivery must end before another replica could take its source over.
    const targets = [{ name: "fast", url: "https://example.test/a", timeout: "1s" }, { name: "erp", url: "https://example.test/b", timeout: "2s" }];
    expect(() => loadConfig(writeConfig({ state: { url }, cluster: { lease: "3s" }, sources: [source], targets }).path)).toThrow(/cluster\.lease.*at least twice the longest target timeout \(target erp: 2s\)/);
    expect(loadConfig(writeConfig({ state: { url }, cluster: { lease: "4s" }, sources: [source], targets }).path).cluster).toEqual({ lease: 4000 });
  });

  it("are refused with SQLite state, saying why and what to do (exit 2 from run and validate)", async () => {
    const { path } = writeConfig({ cluster: { lease: "30s" }, sources: [source] });
    expect(() => loadConfig(path)).toThrow(/cluster.*replicas need PostgreSQL state \(state\.url: postgres:\/\/…\); SQLite state is one process per file — remove `cluster`, or move the state with retrohook migrate-state/);
    for (const command of ["run", "validate"]) {
      const result = await runCli([command, "-c", path]);
      expect(result.code, command).toBe(2);
      expect(result.stderr, command).toMatch(/replicas need PostgreSQL state/);
    }
  }, 60_000);

  it("replica id: RETROHOOK_REPLICA_ID, else cluster.replica_id, else host name and pid", () => {
    expect(replicaId({ lease: 1000, replica_id: "cfg" }, { RETROHOOK_REPLICA_ID: "env-1" })).toBe("env-1");
    expect(replicaId({ lease: 1000, replica_id: "cfg" }, {})).toBe("cfg");
    expect(replicaId({ lease: 1000 }, {})).toMatch(new RegExp(`-${process.pid}$`));
    expect(() => replicaId({ lease: 1000 }, { RETROHOOK_REPLICA_ID: "bad id" })).toThrow(/RETROHOOK_REPLICA_ID "bad id"/);
  });
});
