import { afterEach, describe, expect, it } from "vitest";
import { runCli, startCli, waitFor } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest, type FakeRest } from "../helpers/fake-rest.js";
import { freePort } from "../helpers/ports.js";
import { postgresForFile, sql } from "../helpers/postgres.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

/**
 * Replicas as users run them: several `retrohook run` processes, one config, one PostgreSQL
 * state (docs/decisions/0013). Sources spread over the replicas, one owner each; a killed
 * replica's sources are taken over within the lease; SIGTERM hands them over at once; every
 * change is delivered, duplicates only under the first webhook-id; the database shows no
 * write accepted from a stale lease.
 */
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const pgServer = postgresForFile();
const apis: FakeRest[] = [];
let receiver: Receiver | undefined;
const daemons: Array<ReturnType<typeof startCli>> = [];

afterEach(async () => {
  for (const daemon of daemons.splice(0)) {
    daemon.child.kill("SIGKILL");
    await daemon.done;
  }
  for (const api of apis.splice(0)) await api.close();
  await receiver?.close();
});

const schemaOf = (url: string): string => /schema=([a-z0-9_]+)/.exec(url)![1]!;

async function cluster(sources: number, lease: string): Promise<{ path: string; url: string; ports: number[] }> {
  receiver = await startReceiver();
  const list: Array<Record<string, unknown>> = [];
  for (let i = 0; i < sources; i += 1) {
    const api = await startFakeRest();
    api.create({ name: "seed" });
    apis.push(api);
    list.push(restSourceYaml(api.url, api.token, { name: `src${i}` }));
  }
  const url = pgServer().freshUrl();
  const { path } = writeConfig({ state: { url }, server: { listen: "127.0.0.1:${PORT}" }, cluster: { lease }, sources: list, targets: [{ name: "erp", url: receiver.url, secret: SECRET, timeout: "1s" }] });
  return { path, url, ports: [] };
}

async function replica(path: string, id: string): Promise<{ daemon: ReturnType<typeof startCli>; port: number }> {
  const port = await freePort();
  const daemon = startCli(["run", "-c", path], { RETROHOOK_LOG_LEVEL: "info", RETROHOOK_REPLICA_ID: id, PORT: String(port), RETROHOOK_GRACE_MS: "3000" });
  daemons.push(daemon);
  return { daemon, port };
}

const owners = async (url: string): Promise<Map<string, string>> =>
  new Map((await sql(url, `SELECT source, owner FROM "${schemaOf(url)}".leases WHERE expires_at > clock_timestamp() AND source <> '*'`)).map((r) => [r.source as string, r.owner as string]));

const staleWrites = async (url: string): Promise<number> => {
  const s = schemaOf(url);
  return Number((await sql(url, `SELECT count(*) AS n FROM "${s}".fenced_writes w JOIN "${s}".lease_grants g ON g.source = w.source AND g.token > w.token WHERE w.last_at > g.granted_at`))[0]!.n);
};

/** Every expected change delivered; a change delivered twice only under one webhook-id. */
function delivered(expected: string[]): { missing: string[] } {
  const firstId = new Map<string, string>();
  for (const body of receiver!.bodies<{ id: string; type: string; source: string; record_id: string }>()) {
    const change = `${body.source}:${body.type}:${body.record_id}`;
    const seen = firstId.get(change);
    if (seen && seen !== body.id) throw new Error(`${change} delivered under two ids: ${seen} and ${body.id}`);
    firstId.set(change, body.id);
  }
  return { missing: expected.filter((e) => !firstId.has(e)) };
}

const embedded = process.env.RETROHOOK_TEST_POSTGRES_URL ? describe.skip : describe;

embedded("replicas", () => {
  it("spread over two replicas, one owner per source; kill -9 of one: the other takes its sources over and nothing is lost", async () => {
    const { path, url } = await cluster(8, "2s");
    const a = await replica(path, "ra");
    const b = await replica(path, "rb");
    await waitFor(() => /joined the cluster/.test(a.daemon.stderr()) && /joined the cluster/.test(b.daemon.stderr()), 60_000, "both replicas joined");
    let held = new Map<string, string>();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      held = await owners(url);
      if (held.size === 8 && new Set(held.values()).size === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(held.size).toBe(8);
    expect(new Set(held.values())).toEqual(new Set(["ra", "rb"]));

    // Every replica answers for the whole cluster: replicas and owners.
    const view = (await (await fetch(`http://127.0.0.1:${a.port}/api/cluster`)).json()) as { replica: string; replicas: Array<{ id: string; version: string; live: boolean; sources: string[] }>; owners: Record<string, { owner: string }> };
    expect(view.replica).toBe("ra");
    expect(view.replicas.map((r) => [r.id, r.live])).toEqual([["ra", true], ["rb", true]]);
    expect(Object.fromEntries(Object.entries(view.owners).filter(([s]) => s !== "*").map(([s, l]) => [s, l.owner]))).toEqual(Object.fromEntries(held));
    const status = await runCli(["status", "-c", path], { PORT: String(b.port) });
    expect(status.stdout).toMatch(/REPLICA\s+HOST\s+VERSION\s+LAST HEARTBEAT/);
    expect(status.stdout).toMatch(/rb \(this\)/);
    expect(status.stdout).toMatch(/src0\s+r[ab]\s+\d+/);

    const expected: string[] = [];
    const change = (): void => {
      apis.forEach((api, i) => expected.push(`src${i}:item.created:${api.create({ name: "x" }).id}`));
    };
    change();
    await waitFor(() => delivered(expected).missing.length === 0, 60_000, "the first changes delivered");

    a.daemon.child.kill("SIGKILL");
    await a.daemon.done;
    const killedAt = Date.now();
    change();
    await waitFor(() => delivered(expected).missing.length === 0, 60_000, `every change delivered after the kill (missing ${delivered(expected).missing.join(", ")})`);
    // Taken over within the lease plus a round and a pass.
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    held = await owners(url);
    expect([...held.values()].every((owner) => owner === "rb")).toBe(true);
    expect(held.size).toBe(8);
    expect(await staleWrites(url)).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text();
    expect(metrics).toMatch(/retrohook_leases_held 9/);
    expect(metrics).toMatch(/retrohook_lease_takeovers_total [1-9]/);
  }, 180_000);

  it("SIGTERM drains: the replica's sources are handed over at once, long before its lease would run out", async () => {
    const { path, url } = await cluster(6, "60s");
    const a = await replica(path, "ra");
    await waitFor(() => /joined the cluster/.test(a.daemon.stderr()), 60_000, "ra joined");
    await waitFor(() => /pass done/.test(a.daemon.stderr()), 60_000, "a first pass");
    const b = await replica(path, "rb");
    await waitFor(() => /joined the cluster/.test(b.daemon.stderr()), 60_000, "rb joined");
    const expected: string[] = [];
    apis.forEach((api, i) => expected.push(`src${i}:item.created:${api.create({ name: "before" }).id}`));
    await waitFor(() => delivered(expected).missing.length === 0, 60_000, "delivered before the drain");

    const stopping = Date.now();
    a.daemon.child.kill("SIGTERM");
    const result = await a.daemon.done;
    expect(result.code).toBe(0);
    expect(a.daemon.stderr()).toMatch(/leases released: draining/);
    apis.forEach((api, i) => expected.push(`src${i}:item.created:${api.create({ name: "after" }).id}`));
    let held = new Map<string, string>();
    while (Date.now() - stopping < 40_000) {
      held = await owners(url);
      if (held.size === 6 && [...held.values()].every((o) => o === "rb")) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // A 60 s lease: only the release explains a takeover within 40 s (a round is 20 s).
    expect([...held.values()]).toEqual(Array(6).fill("rb"));
    await waitFor(() => delivered(expected).missing.length === 0, 60_000, `delivered after the drain (missing ${delivered(expected).missing.join(", ")})`);
    const s = schemaOf(url);
    expect(await sql(url, `SELECT id FROM "${s}".replicas ORDER BY id`)).toEqual([{ id: "rb" }]);
    expect(await staleWrites(url)).toBe(0);
  }, 180_000);
});
