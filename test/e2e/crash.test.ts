import type { ChildProcess } from "node:child_process";
import { readFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { killCli, startCli as startDaemon, waitFor } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { startReceiver, verifySignature } from "../helpers/receiver.js";

/**
 * Crash safety: for each named crash point, the daemon is SIGKILLed there (a test-only switch),
 * restarted, and in the end every observable change reached the receiver at least once;
 * duplicates carry the same webhook-id. The points run concurrently (each with its own vendor,
 * receiver, folder and daemon, closed when its test finishes; vitest's maxConcurrency, vitest.config.ts): most of a
 * point's time is its daemon waiting for the next second of its schedule.
 */
const POINTS: Array<{ point: string; receiver?: "503-first" | "400-first" }> = [
  { point: "run:started" },
  { point: "pass:start" },
  { point: "http:before-request" },
  { point: "http:after-response" },
  { point: "pass:after-fetch" },
  { point: "pass:after-detect" },
  { point: "store:enqueue-before-commit" },
  { point: "pass:after-outbox" },
  { point: "store:snapshots-before-commit" },
  { point: "pass:after-snapshots" },
  { point: "pass:before-deletions" },
  { point: "pass:deletions-confirmed" },
  { point: "pass:before-cursor" },
  { point: "pass:after-cursor" },
  { point: "delivery:before-post" },
  { point: "delivery:after-2xx-before-ack" },
  { point: "store:ack-before-commit" },
  { point: "delivery:after-ack" },
  { point: "delivery:after-retry-update", receiver: "503-first" },
  { point: "delivery:before-dead-letter", receiver: "400-first" },
  { point: "store:dead-letter-before-commit", receiver: "400-first" },
];

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe.concurrent("crash safety (kill -9 at named points)", () => {
  for (const { point, receiver: mode } of POINTS) {
    it(`${point}: every change delivered after a restart, duplicates with the same id`, async ({ expect, onTestFinished }) => {
      // This test's own clean-up (after-each hooks would reach the tests running beside it).
      const daemons = new Set<ChildProcess>();
      const open: Array<{ close(): unknown }> = [];
      const dir = mkdtempSync(join(tmpdir(), "retrohook-"));
      onTestFinished(async () => {
        await killCli(daemons);
        for (const thing of open.reverse()) await thing.close();
        rmSync(dir, { recursive: true, force: true });
      });
      const closeLater = <T extends { close(): unknown }>(thing: T): T => (open.push(thing), thing);
      const startCli = (args: string[], env: Record<string, string>): ReturnType<typeof startDaemon> => startDaemon(args, env, { scope: daemons });
      const api = closeLater(await startFakeRest());
      const receiver = closeLater(await startReceiver());
      if (mode === "503-first") receiver.replySequence([{ status: 503 }]);
      if (mode === "400-first") receiver.replySequence([{ status: 400 }]);
      for (let i = 0; i < 4; i += 1) api.create();
      const crashLog = join(dir, "crash.log");
      const source = restSourceYaml(api.url, api.token, { reconcile: "*/2 * * * * *" });
      const { path } = writeConfig({ sources: [source], targets: [{ name: "erp", url: receiver.url, secret: SECRET }] }, dir);

      let daemon = startCli(["run", "-c", path], { RETROHOOK_CRASH_AT: point, RETROHOOK_CRASH_LOG: crashLog, RETROHOOK_LOG_LEVEL: "info" });
      let exited = false;
      void daemon.done.then(() => (exited = true));
      await waitFor(() => exited || /pass done/.test(daemon.stderr()), 20_000, "first pass or crash");
      if (exited) {
        daemon = startCli(["run", "-c", path], { RETROHOOK_LOG_LEVEL: "info" });
        await waitFor(() => /pass done/.test(daemon.stderr()), 20_000, "first pass after restart");
      }
      const fresh = [api.create({ name: "new-a" }), api.create({ name: "new-b" })];
      api.update(1, { name: "renamed" });
      api.update(2, { status: "paid" });
      api.remove(4);
      const expected = [`item.created:${fresh[0]!.id}`, `item.created:${fresh[1]!.id}`, "item.updated:1", "item.updated:2", "item.paid:2", "item.deleted:4"];

      if (!exited) {
        const crashed = await Promise.race([daemon.done.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 25_000))]);
        expect(crashed, `crash point ${point} was not reached`).toBe(true);
        daemon = startCli(["run", "-c", path], { RETROHOOK_LOG_LEVEL: "info" });
      }
      expect(existsSync(crashLog) && readFileSync(crashLog, "utf8")).toContain(`CRASH ${point}\n`);

      const received = (): string[] => receiver.bodies<{ type: string; record_id: string }>().map((b) => `${b.type}:${b.record_id}`);
      try {
        await waitFor(() => expected.every((e) => received().includes(e)), 30_000, `all events (got ${received().join(", ")})`);
      } finally {
        daemon.child.kill("SIGTERM");
        await daemon.done;
      }
      const byId = new Map<string, string>();
      for (const request of receiver.requests) {
        if (request.headers["webhook-signature"]) verifySignature(request, SECRET);
        const body = JSON.parse(request.body) as { id: string; type: string; record_id: string };
        expect(request.headers["webhook-id"]).toBe(body.id);
        const change = `${body.type}:${body.record_id}`;
        // A duplicate of a change must carry the id of its first delivery.
        const seen = [...byId.entries()].find(([, c]) => c === change);
        if (seen && seen[0] !== body.id) throw new Error(`${change} delivered under two ids: ${seen[0]} and ${body.id}`);
        byId.set(body.id, change);
      }
    }, 90_000);
  }
});
