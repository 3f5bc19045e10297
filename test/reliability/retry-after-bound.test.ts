import { describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import { harness, makeEvent, START, targetConfig, waitUntil, captureLogger } from "../delivery/harness.js";
import { MODIFIED_SINCE, fakeRestWithStore, passRunner, restResource, restSource } from "../helpers/pass-harness.js";
import { closingAfterEach } from "../helpers/closing.js";
import { startReceiver } from "../helpers/receiver.js";
import { liftBackoff } from "../../src/pipeline/backoff.js";

/**
 * Issue #27, item 7. One 429 with `Retry-After: 2147483647` backed the source off until 2094,
 * across restarts (the back-off is persisted); a receiver's one did the same to a delivery (dead
 * letter at once: "max_age exceeded"). Now a Retry-After is bounded by `max_retry_after`
 * (default 24 h), the clamp is logged, and a back-off already stored is bounded when read.
 * Failed on e0998cc (the source stayed blocked after 24 h; the delivery was dead-lettered).
 */
const HUGE = "2147483647";
const DAY = 24 * 3_600_000;

const t = fakeRestWithStore();

const resource = restResource({ cursor: MODIFIED_SINCE });

describe("a source's Retry-After", () => {
  it("of 68 years backs off 24 h by default, and says so in the log", async () => {
    for (let i = 0; i < 3; i += 1) t.api.create();
    const log = captureLogger();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource]), undefined, log.logger);
    await run.pass();
    t.api.injectFault({ fault: { type: "status", status: 429, headers: { "retry-after": HUGE } }, times: 1 });
    const failedAt = run.clock.now();
    expect((await run.pass()).outcomes[0]!.ok).toBe(false);
    const until = Date.parse((await t.store.getSourceState("legacy"))!.backoffUntil!);
    expect(until).toBeGreaterThan(failedAt + DAY - 60_000);
    expect(until).toBeLessThanOrEqual(failedAt + DAY + 60_000);
    expect(log.lines.some((l) => /Retry-After .* bounded to max_retry_after 24h/.test(l.msg))).toBe(true);

    expect((await run.pass()).outcomes[0]!.blocked).toBe(true);
    run.clock.advance(DAY + 60_000);
    expect((await run.pass()).outcomes[0]!.ok).toBe(true);
  });

  it("is bounded by max_retry_after when configured", async () => {
    for (let i = 0; i < 3; i += 1) t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource], { max_retry_after: 3_600_000 }));
    await run.pass();
    t.api.injectFault({ fault: { type: "status", status: 429, headers: { "retry-after": HUGE } }, times: 1 });
    await run.pass();
    run.clock.advance(3_600_000 + 60_000);
    expect((await run.pass()).outcomes[0]!.ok).toBe(true);
  });

  it("already stored as a back-off until 2094 is bounded when read", async () => {
    for (let i = 0; i < 3; i += 1) t.api.create();
    const log = captureLogger();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource]), undefined, log.logger);
    await run.pass();
    await t.store.putSourceState("legacy", { backoffUntil: "2094-01-19T03:14:07.000Z", backoffReason: "GET /items: HTTP 429 rate limited" });
    expect((await run.pass()).outcomes[0]!.blocked).toBe(true);
    expect(Date.parse((await t.store.getSourceState("legacy"))!.backoffUntil!)).toBeLessThanOrEqual(run.clock.now() + DAY);
    expect(log.lines.some((l) => /bounded to max_retry_after/.test(l.msg))).toBe(true);
    run.clock.advance(DAY + 60_000);
    expect((await run.pass()).outcomes[0]!.ok).toBe(true);
  });

  it("is lifted by liftBackoff (what `retrohook resume` calls)", async () => {
    for (let i = 0; i < 3; i += 1) t.api.create();
    const run = passRunner(() => t.store, restSource(t.api.url, t.api.token, [resource]));
    await run.pass();
    t.api.injectFault({ fault: { type: "status", status: 429, headers: { "retry-after": "600" } }, times: 1 });
    await run.pass();
    expect((await run.pass()).outcomes[0]!.blocked).toBe(true);
    expect(await liftBackoff(t.store, "legacy")).toBe(true);
    expect(await liftBackoff(t.store, "legacy")).toBe(false);
    expect((await run.pass()).outcomes[0]!.ok).toBe(true);
  });
});

describe("a receiver's Retry-After", () => {
  const closeLater = closingAfterEach();

  it("of 68 years puts the next attempt 24 h out instead of dead-lettering the delivery", async () => {
    const rx = closeLater(await startReceiver());
    rx.replySequence([{ status: 429, headers: { "retry-after": HUGE } }]);
    const h = closeLater(await harness(async (clock) => openStateStore("sqlite::memory:", { clock }), [targetConfig(rx.url)]));
    await h.enqueue([{ event: makeEvent("ra1", "1"), recordId: "1" }]);
    await h.dispatcher.start();
    await waitUntil(async () => (await h.store.listPending())[0]?.attempts === 1 || (await h.store.listDeadLetters()).length > 0, 5000, "retry recorded");
    expect(await h.store.listDeadLetters()).toEqual([]);
    expect((await h.store.listPending())[0]!.nextAttemptAt).toBe(START + DAY);
    expect(h.log.lines.some((l) => /bounded to max_retry_after 24h/.test(l.msg))).toBe(true);
  });
});
