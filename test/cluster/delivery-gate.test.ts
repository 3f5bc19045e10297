import { describe, expect, it } from "vitest";
import type { Delivery } from "../../src/store/store.js";
import { closingAfterEach } from "../helpers/closing.js";
import { startReceiver } from "../helpers/receiver.js";
import { harness, idOf, makeEvent, pause, STORES, targetConfig, waitUntil } from "../delivery/harness.js";

/**
 * A replica's dispatcher delivers only what its leases allow (`owns`). A lease that is not ready
 * yet (`wait`: just granted and the outbox not read since, or too little of it left for an
 * attempt) holds back ITS source's deliveries, never the rest of the target's, and does not spin
 * while it waits: the replica's next round kicks the dispatcher.
 */
describe("dispatcher under a replica's leases", () => {
  const closeLater = closingAfterEach();

  it("a waiting source does not hold back the other sources' deliveries, and costs nothing while it waits", async () => {
    const rx = closeLater(await startReceiver());
    let ready = false;
    let asked = 0;
    // Record 1 stands for a source whose lease was just granted; the others are ready.
    const owns = (delivery: Delivery): "yes" | "wait" => {
      asked += 1;
      return delivery.recordKey.endsWith("\u001f1") && !ready ? "wait" : "yes";
    };
    const h = closeLater(await harness(STORES[0]![1], [targetConfig(rx.url, { concurrency: 2 })], { owns }));
    // The waiting record's delivery is the oldest: first in due order.
    await h.enqueue([{ event: makeEvent("evt_1", "1"), recordId: "1" }]);
    await h.enqueue([2, 3, 4, 5, 6].map((n) => ({ event: makeEvent(`evt_${n}`, String(n)), recordId: String(n) })));
    await h.dispatcher.start();
    await waitUntil(() => rx.requests.length === 5, 5000, "the ready sources' deliveries");
    expect(rx.requests.map((r) => idOf(r.body)).sort()).toEqual(["evt_2", "evt_3", "evt_4", "evt_5", "evt_6"]);

    // Waiting is idle: no timer keeps asking for the parked delivery.
    const before = asked;
    await pause(300);
    expect(asked - before).toBeLessThan(5);

    // The lease becomes ready (the replica's round): the kick sends it.
    ready = true;
    h.dispatcher.kick();
    await waitUntil(() => rx.requests.length === 6, 5000, "the parked delivery");
    expect(idOf(rx.requests[5]!.body)).toBe("evt_1");
  });
});
