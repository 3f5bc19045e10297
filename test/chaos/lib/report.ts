/** One row of the figures table. */
export interface Row {
  suite: string;
  scenario: string;
  figures: string;
  /** pass: every acceptance figure holds; FAIL: one does not; skipped: could not run here (why in notes). */
  result: "pass" | "FAIL" | "skipped";
  notes?: string;
}

export function markdownTable(rows: Row[]): string {
  const escape = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = ["| Suite | Scenario | Figures | Result |", "|---|---|---|---|"];
  for (const row of rows) lines.push(`| ${escape(row.suite)} | ${escape(row.scenario)} | ${escape(row.figures)}${row.notes ? ` — ${escape(row.notes)}` : ""} | ${row.result === "pass" ? "pass" : row.result === "FAIL" ? "**FAIL**" : "skipped"} |`);
  return lines.join("\n");
}

export type Logger = (message: string) => void;

export const quietLog: Logger = () => undefined;
