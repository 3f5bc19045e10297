export { seededRandom } from "../test/helpers/random.js";

/** A row of the results table, as written to bench/results.json. */
export interface Row {
  scenario: string;
  figure: number;
  unit: string;
  /** The same work without retrohook, measured in the same run (null for the naive rows). */
  floor: number | null;
  /** figure / floor (for throughputs: figure / floor as a share of it). */
  ratio: number | null;
  /** Null for rows shown for context only (the naive script). */
  target: string | null;
  met: boolean | null;
  /** What was measured, in words (sizes, counts, secondary figures). */
  detail?: string;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

function show(value: number | null, unit = ""): string {
  if (value === null || Number.isNaN(value)) return "—";
  const text = Number.isInteger(value) ? String(value) : Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

/** A row's cells: scenario, figure, floor, ratio, target, met (`met` as the caller writes it). */
function cells(row: Row, met: (met: boolean) => string): string[] {
  return [
    row.scenario,
    show(row.figure, row.unit),
    show(row.floor, row.unit),
    row.ratio === null ? "—" : `${show(row.ratio)}×`,
    row.target ?? "(context)",
    row.met === null ? "—" : met(row.met),
  ];
}

/** The results table for a terminal. */
export function table(rows: Row[]): string {
  const lines = [["scenario", "figure", "floor", "ratio", "target", "met?"], ...rows.map((row) => cells(row, (met) => (met ? "yes" : "NO")))];
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  const format = (line: string[]): string => line.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  return [format(lines[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...lines.slice(1).map(format)].join("\n");
}

export const README_TABLE_START = "<!-- bench-table:start -->";
export const README_TABLE_END = "<!-- bench-table:end -->";
/** The `scale` scenario's table (run on request: `--only=scale`), results in bench/scale-results.json. */
export const README_SCALE_START = "<!-- bench-scale:start -->";
export const README_SCALE_END = "<!-- bench-scale:end -->";

export interface TableMarkers {
  start: string;
  end: string;
}

const MAIN_TABLE: TableMarkers = { start: README_TABLE_START, end: README_TABLE_END };
export const SCALE_TABLE: TableMarkers = { start: README_SCALE_START, end: README_SCALE_END };

/** The results table in Markdown, between the markers that delimit it in the README. */
export function markdownTable(rows: Row[], markers: TableMarkers = MAIN_TABLE): string {
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  return [
    markers.start,
    line(["scenario", "figure", "floor", "ratio", "target", "met"]),
    line(new Array<string>(6).fill("---")),
    ...rows.map((row) => line(cells(row, (met) => (met ? "yes" : "**no**")))),
    markers.end,
  ].join("\n");
}

/** The README with the table between the markers replaced (a full run keeps README and results.json together). */
export function withReadmeTable(readme: string, rows: Row[], markers: TableMarkers = MAIN_TABLE): string {
  const start = readme.indexOf(markers.start);
  const end = readme.indexOf(markers.end);
  if (start < 0 || end < start) throw new Error(`README.md has no ${markers.start} … ${markers.end} section for the bench table`);
  return readme.slice(0, start) + markdownTable(rows, markers) + readme.slice(end + markers.end.length);
}

/** `count` distinct integers in [1, max]. */
export function distinctIds(random: () => number, count: number, max: number): number[] {
  const out = new Set<number>();
  while (out.size < Math.min(count, max)) out.add(1 + Math.floor(random() * max));
  return [...out];
}

/** A timed run of `n` events: its wall and CPU time. */
export interface Timed {
  ms: number;
  cpuMs: number;
}

/**
 * A deliver row (target ≥ 0.5× floor and ≥ 1,000 ev/s) from the best (fastest) of retrohook's
 * runs and of the floor's; `detail` gets the best run and every run's rate and CPU time in words.
 */
export function deliverRow<R extends Timed>(scenario: string, n: number, runs: R[], floors: Timed[], detail: (best: R, rates: { runs: string; floors: string }) => string): Row {
  const run = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  const floor = floors.reduce((a, b) => (b.ms < a.ms ? b : a));
  const rates = (list: Timed[]): string => list.map((x) => `${Math.round((n * 1000) / x.ms)} (cpu ${(x.cpuMs / 1000).toFixed(2)} s)`).join(", ");
  const rate = (n * 1000) / run.ms;
  const floorRate = (n * 1000) / floor.ms;
  return {
    scenario,
    figure: round(rate, 0),
    unit: "ev/s",
    floor: round(floorRate, 0),
    ratio: round(rate / floorRate),
    target: "≥ 0.5× floor and ≥ 1000 ev/s",
    met: rate >= 0.5 * floorRate && rate >= 1000,
    detail: detail(run, { runs: rates(runs), floors: rates(floors) }),
  };
}
