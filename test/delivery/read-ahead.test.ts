import { describe, expect, it } from "vitest";
import { ReadAhead } from "../../src/delivery/read-ahead.js";
import type { StoredEvent } from "../../src/store/store.js";

/** A store that answers every id and records each read. */
function countingReads(): { store: { getEvents(ids: string[]): Promise<Map<string, StoredEvent>> }; reads: string[][] } {
  const reads: string[][] = [];
  return {
    reads,
    store: {
      getEvents(ids) {
        reads.push([...ids]);
        return Promise.resolve(new Map(ids.map((id) => [id, { body: `{"id":"${id}"}`, envelope: { id } as StoredEvent["envelope"] }])));
      },
    },
  };
}

describe("ReadAhead: a read serves the attempts after it for a second of the dispatcher's clock", () => {
  it("serves the events read ahead while its clock stands, however long the machine takes", async () => {
    const { store, reads } = countingReads();
    let now = 1_000_000;
    const reader = new ReadAhead(store, "t", () => now);
    expect((await reader.event("a", () => ["b", "c"]))?.envelope.id).toBe("a");
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // real time passes, the clock does not
    expect((await reader.event("b", () => []))?.envelope.id).toBe("b");
    now += 1_000;
    expect((await reader.event("c", () => []))?.envelope.id).toBe("c");
    expect(reads).toEqual([["a", "b", "c"]]);
  });

  it("reads again once a second of its clock has passed, and serves each id read ahead once", async () => {
    const { store, reads } = countingReads();
    let now = 0;
    const reader = new ReadAhead(store, "t", () => now);
    await reader.event("a", () => ["b", "c"]);
    await reader.event("b", () => []);
    await reader.event("b", () => []); // a second attempt of b reads it again
    now += 1_001;
    await reader.event("c", () => ["d"]);
    expect(reads).toEqual([["a", "b", "c"], ["b"], ["c", "d"]]);
  });
});
