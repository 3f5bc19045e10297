import { describe, expect, it } from "vitest";
import { detectChanges, isSilentBaseline, type DetectRules } from "../../src/core/detect.js";
import { refKey, type SourceRecord } from "../../src/core/types.js";

const rules: DetectRules = { source: "s", resource: "r", typePrefix: "invoice", ignoreFields: [], transitions: [] };
const quiet = { epoch: "e", generation: "g", detectedAt: "2026-12-03T00:00:00.000Z", announceNew: () => false };
const records = (...ids: string[]): SourceRecord[] => ids.map((id) => ({ kind: null, id, data: { id, total: "1.00" } }));
const keysOf = (list: SourceRecord[]): string[] => list.map(refKey);

describe("isSilentBaseline", () => {
  it("holds for new records, each listed once, none to announce — exactly what detectChanges records silently", () => {
    const batch = records("1", "2", "3");
    expect(isSilentBaseline(batch, keysOf(batch), new Set(), quiet)).toBe(true);
    const detection = detectChanges(batch, new Map(), rules, quiet);
    expect(detection.events).toEqual([]);
    expect(detection.baselined).toBe(3);
    expect(detection.writes.map((w) => w.snapshot)).toEqual(batch.map((r) => ({ version: 1, fingerprint: "", json: JSON.stringify(r.data) })));
  });

  it("fails for a record listed twice, one written earlier in the pass, or one to announce", () => {
    const twice = records("1", "2", "1");
    expect(isSilentBaseline(twice, keysOf(twice), new Set(), quiet)).toBe(false);
    const batch = records("1", "2");
    expect(isSilentBaseline(batch, keysOf(batch), new Set([refKey({ kind: null, id: "2" })]), quiet)).toBe(false);
    expect(isSilentBaseline(batch, keysOf(batch), new Set(), { announceNew: (r) => r.id === "2" })).toBe(false);
  });
});
