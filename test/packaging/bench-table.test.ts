import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { markdownTable, README_SCALE_END, README_SCALE_START, README_TABLE_END, README_TABLE_START, SCALE_TABLE, type Row } from "../../bench/report.js";
import { readme } from "../helpers/readme.js";

const results = (): Row[] => JSON.parse(readFileSync(new URL("../../bench/results.json", import.meta.url), "utf8")) as Row[];

describe("the README's Performance table", () => {
  it("is the run in bench/results.json (a full `npm run bench` writes both)", () => {
    const text = readme();
    const start = text.indexOf(README_TABLE_START);
    const end = text.indexOf(README_TABLE_END);
    expect(start, "README.md has the bench table markers").toBeGreaterThanOrEqual(0);
    expect(text.slice(start, end + README_TABLE_END.length)).toBe(markdownTable(results()));
  });

  it("comes from a full run: every scenario of the issue, each timed figure with its floor", () => {
    const rows = results();
    const scenarios = rows.map((row) => row.scenario);
    for (const name of ["reconcile-100k", "reconcile-100k peak RSS", "baseline-100k", "deliver-10k", "latency p99", "many-sources missed+overlap", "many-sources CPU", "many-sources RSS"]) {
      expect(scenarios, name).toContain(name);
    }
    expect(scenarios.filter((name) => name.startsWith("economy"))).toHaveLength(3);
    for (const row of rows.filter((r) => r.target !== null && r.unit !== "MB" && r.unit !== "passes")) expect(row.floor, `${row.scenario} floor`).not.toBeNull();
  });

  it("has the scale table of bench/scale-results.json (`npm run bench -- --only=scale` writes both)", () => {
    const text = readme();
    const start = text.indexOf(README_SCALE_START);
    const end = text.indexOf(README_SCALE_END);
    expect(start, "README.md has the scale table markers").toBeGreaterThanOrEqual(0);
    const file = new URL("../../bench/scale-results.json", import.meta.url);
    const rows = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Row[]) : [];
    const expected = rows.length === 0 ? `${README_SCALE_START}\n${README_SCALE_END}` : markdownTable(rows, SCALE_TABLE);
    expect(text.slice(start, end + README_SCALE_END.length)).toBe(expected);
  });
});
