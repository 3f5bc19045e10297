import { afterAll, describe, expect, it } from "vitest";
import type { Config, TargetConfig } from "../../src/config/types.js";
import { sendTestEvent } from "../../src/server/actions.js";
import { connectionText } from "../../src/cli/commands/status.js";
import { deliveryLog, targetView } from "../../src/server/read-model.js";
import { harness, makeEvent, pause, recordKeyOf, SECRET, STORES, targetConfig, waitUntil, type Harness } from "../delivery/harness.js";
import { sharedForFile } from "../helpers/closing.js";
import { verifySignature } from "../helpers/receiver.js";

/**
 * The target contract, the same for every transport: per-record order, retry then success,
 * permanent failure → dead letter with the reason, replay keeps the event id, `test-target`,
 * and no credential of the target ever shown. Each transport's test file gives a Kit over a real
 * broker (or receiver) it started.
 */

export interface Received {
  id: string;
  headers: Record<string, string>;
  body: string;
}

export interface Kit {
  /** A credential that is part of the target URL: never to be shown. */
  password: string;
  /** The target that delivers. */
  target(name: string): TargetConfig;
  /** The delivering target with its credentials, pointed at a closed port: every attempt fails to connect. */
  downTarget(name: string): TargetConfig;
  /** A target whose every delivery fails for good (unroutable, no valid name, refused). */
  deadTarget(name: string): TargetConfig;
  /** What `target("erp")` delivered so far, in the order the broker holds it. */
  received(): Promise<Received[]>;
  /** The next attempts fail as a broker restart would make them fail; `heal` ends that. */
  breakIt(): Promise<void>;
  heal(): Promise<void>;
  close(): Promise<void>;
}

/** A broker-style target with the test defaults the HTTP harness uses. */
export function brokerTarget(type: string, url: string, fields: Record<string, unknown>, name = "erp"): TargetConfig {
  return { ...targetConfig(url), name, type, ...fields, timeout: 3_000 } as TargetConfig;
}

const S = 1000;
const [, sqlite] = STORES.find(([name]) => name === "sqlite")!;

/**
 * Waits for `done`, moving the harness clock `stepMs` before each look (after `pauseMs` of real
 * time), so retry back-offs and a breaker's probe come due while the broker answers in real time.
 */
export function waitAdvancing(run: Harness, stepMs: number, done: () => Promise<boolean>, timeoutMs: number, what: string, pauseMs = 0): Promise<void> {
  return waitUntil(
    async () => {
      if (pauseMs > 0) await pause(pauseMs);
      run.clock.advance(stepMs);
      return done();
    },
    timeoutMs,
    what,
  );
}

/** Nothing pending any more. */
export const nonePending = (run: Harness) => async (): Promise<boolean> => (await run.store.listPending()).length === 0;

/**
 * A target the broker refuses for a reason only the operator can fix (no exchange, no stream):
 * `test-target` says so (`verdict`), and a real event is retried with `error` in the delivery log
 * — still pending, no dead letter. Returns after that first attempt.
 */
export async function expectRetriedWithReason(run: Harness, target: TargetConfig, eventId: string, reason: { verdict: string[]; error: string }, timeoutMs: number): Promise<void> {
  const test = await sendTestEvent(run.dispatcher, config([target]), target.name, Date.now());
  expect(test.ok).toBe(false);
  for (const part of reason.verdict) expect(test.verdict).toContain(part);
  await run.enqueue([{ event: makeEvent(eventId, "1"), recordId: "1" }]);
  await run.dispatcher.start();
  await waitUntil(async () => (await run.store.listLog({})).length === 1, timeoutMs, "an attempt");
  const [entry] = await run.store.listLog({});
  expect(entry).toMatchObject({ outcome: "retry", eventId });
  expect(entry!.error).toContain(reason.error);
  expect(await run.store.listDeadLetters()).toHaveLength(0);
  expect(await run.store.listPending()).toHaveLength(1);
}

const config = (targets: TargetConfig[]): Config => ({ targets }) as unknown as Config;

export function targetContract(kind: string, makeKit: () => Promise<Kit>): void {
  describe(`target contract: ${kind}`, () => {
    const kit = sharedForFile(makeKit, (started) => started.close(), 180_000);
    let h: Harness | undefined;
    afterAll(async () => {
      await h?.close();
    });

    const open = async (targets: TargetConfig[]): Promise<Harness> => {
      await h?.close();
      h = await harness(sqlite, targets);
      return h;
    };

    it("keeps per-record order, one in flight per record, signed so consumers can verify", async () => {
      const before = (await kit().received()).length;
      const run = await open([{ ...kit().target("erp"), concurrency: 4 }]);
      const events = [];
      for (let version = 1; version <= 5; version++) {
        for (const record of ["1", "2", "3"]) events.push({ event: makeEvent(`ord_${record}_${version}`, record), recordId: record });
      }
      await run.enqueue(events);
      await run.dispatcher.start();
      await waitUntil(async () => (await run.store.listPending()).length === 0, 20_000, "all delivered");
      const got = (await kit().received()).slice(before);
      expect(got).toHaveLength(15);
      for (const record of ["1", "2", "3"]) {
        const versions = got.filter((m) => m.id.startsWith(`ord_${record}_`)).map((m) => Number(m.id.split("_")[2]));
        expect(versions).toEqual([1, 2, 3, 4, 5]);
      }
      for (const message of got) {
        expect(message.headers["webhook-id"]).toBe(message.id);
        expect(verifySignature({ method: "POST", path: "/", headers: message.headers, body: message.body, at: Date.now() }, SECRET)).toMatchObject({ id: message.id });
      }
    }, 60_000);

    it("retries while the broker is down and delivers once it is back, under the same id", async () => {
      const run = await open([kit().target("erp")]);
      await kit().breakIt();
      try {
        await run.enqueue([{ event: makeEvent("evt_retry", "9"), recordId: "9" }]);
        await run.dispatcher.start();
        await waitUntil(async () => (await run.store.listLog({ target: "erp" })).some((entry) => entry.outcome === "retry"), 20_000, "a retry");
      } finally {
        await kit().heal();
      }
      const [retry] = await run.store.listLog({ target: "erp" });
      expect(retry).toMatchObject({ eventId: "evt_retry", outcome: "retry" });
      expect(retry!.error).toBeTruthy();
      // Time passes for the retries' back-off while the broker comes back (50 times real time).
      await waitAdvancing(run, 5 * S, nonePending(run), 30_000, "delivered after the restart", 100);
      const log = await run.store.listLog({ target: "erp" });
      expect(log.some((entry) => entry.eventId === "evt_retry" && entry.outcome === "delivered")).toBe(true);
      expect((await kit().received()).filter((m) => m.id === "evt_retry").length).toBeGreaterThanOrEqual(1);
    }, 120_000);

    it.runIf(kind !== "http")("shows the connection in status: idle, connected, then reconnecting or down with the last error, and connected again", async () => {
      const target = kit().target("erp");
      const run = await open([target]);
      const live = () => run.dispatcher.status()[0]!;
      const view = async () => (await targetView({ store: run.store, now: Date.now() } as never, target, live())).connection;
      expect(await view()).toMatchObject({ state: "idle", lastError: null });
      await run.enqueue([{ event: makeEvent("evt_conn_1", "11"), recordId: "11" }]);
      await run.dispatcher.start();
      await waitUntil(async () => (await run.store.listPending()).length === 0, 20_000, "delivered");
      expect(await view()).toMatchObject({ state: "connected", lastError: null });
      await kit().breakIt();
      let lost: Awaited<ReturnType<typeof view>>;
      try {
        await run.enqueue([{ event: makeEvent("evt_conn_2", "12"), recordId: "12" }]);
        await waitUntil(async () => (await run.store.listLog({ target: "erp" })).some((entry) => entry.outcome === "retry"), 30_000, "a failed attempt");
        await waitUntil(async () => ["reconnecting", "down"].includes(live().connection?.state ?? "") && Boolean(live().connection?.lastError), 30_000, "the loss shown");
        lost = await view();
      } finally {
        await kit().heal();
      }
      expect(lost!.lastError!.length).toBeGreaterThan(3);
      expect(connectionText(lost!)).toMatch(/^broker (reconnecting|down) since \S+ \(last error: .+\)$/);
      expect(JSON.stringify(lost)).not.toContain(kit().password);
      if (process.env.CONTRACT_DEBUG) console.log(kind, "connection while down:", connectionText(lost!));
      // Time passes for the retry's back-off (and a breaker's probe) until the broker takes it.
      await waitAdvancing(run, 5 * S, nonePending(run), 60_000, "delivered after the restart");
      expect((await view())?.state).toBe("connected");
    }, 150_000);

    it("dead-letters a permanent failure with the reason", async () => {
      const run = await open([kit().deadTarget("dead")]);
      await run.enqueue([{ event: makeEvent("evt_dead", "4"), recordId: "4" }]);
      await run.dispatcher.start();
      await waitUntil(async () => (await run.store.listDeadLetters("dead")).length === 1, 20_000, "a dead letter");
      const [dead] = await run.store.listDeadLetters("dead");
      expect(dead).toMatchObject({ eventId: "evt_dead", attempts: 1 });
      expect(dead!.reason.length).toBeGreaterThan(10);
      if (process.env.CONTRACT_DEBUG) console.log(kind, "dead letter:", dead!.reason);
      const [entry] = await run.store.listLog({ target: "dead" });
      expect(entry).toMatchObject({ outcome: "dead", error: dead!.reason });
    }, 60_000);

    it("a replay goes out again under the same event id", async () => {
      const run = await open([kit().target("erp")]);
      await run.enqueue([{ event: makeEvent("evt_replay", "5"), recordId: "5" }]);
      await run.dispatcher.start();
      await waitUntil(async () => (await run.store.listPending()).length === 0, 20_000, "first delivery");
      run.dispatcher.enqueued(await run.store.requeueEvent("evt_replay", ["erp"], recordKeyOf("5")));
      await waitUntil(async () => (await run.store.listLog({ target: "erp" })).filter((e) => e.outcome === "delivered").length === 2, 20_000, "replayed");
      const delivered = (await run.store.listLog({ target: "erp" })).filter((e) => e.outcome === "delivered");
      expect(delivered.map((e) => e.eventId)).toEqual(["evt_replay", "evt_replay"]);
      const copies = (await kit().received()).filter((m) => m.body.includes("evt_replay"));
      expect(copies.length).toBeGreaterThanOrEqual(1);
      for (const copy of copies) expect([copy.id, copy.headers["webhook-id"]]).toEqual(["evt_replay", "evt_replay"]);
    }, 60_000);

    it("test-target sends a test message and reports what the other side said", async () => {
      const good = kit().target("erp");
      const bad = kit().deadTarget("dead");
      const run = await open([good, bad]);
      const ok = await sendTestEvent(run.dispatcher, config([good, bad]), "erp", Date.now());
      expect(ok).toMatchObject({ ok: true });
      expect(ok.verdict.length).toBeGreaterThan(3);
      const refused = await sendTestEvent(run.dispatcher, config([good, bad]), "dead", Date.now());
      expect(refused.ok).toBe(false);
      expect(refused.verdict.length).toBeGreaterThan(10);
      if (process.env.CONTRACT_DEBUG) console.log(kind, "test-target:", ok.verdict, "|", refused.verdict);
      expect(await run.store.listLog({})).toHaveLength(0);
    }, 60_000);

    it("never shows the target's credentials (status, delivery log, dead letters, logs, test-target)", async () => {
      const password = kit().password;
      const good = kit().downTarget("erp");
      const run = await open([good, kit().deadTarget("dead")]);
      await run.enqueue([{ event: makeEvent("evt_secret", "6"), recordId: "6" }]);
      await run.dispatcher.start();
      await waitUntil(async () => (await run.store.listLog({})).some((e) => e.outcome === "retry" && e.target === "erp"), 20_000, "a failed attempt");
      const test = await sendTestEvent(run.dispatcher, config([good]), "erp", Date.now());
      expect(test.ok).toBe(false);
      const seen = [
        JSON.stringify(test),
        JSON.stringify(await run.store.listLog({})),
        JSON.stringify(await run.store.listDeadLetters()),
        JSON.stringify(await run.store.listPending()),
        JSON.stringify(await targetView({ store: run.store, now: Date.now() } as never, good, run.dispatcher.status()[0])),
        JSON.stringify(await deliveryLog(config([good]), run.store, {})),
        run.log.text(),
      ].join("\n");
      expect(seen).toContain("evt_secret");
      expect(seen).not.toContain(password);
    }, 60_000);
  });
}
