import { validateDetailed } from "node-cron";

/**
 * Why a cron expression is not one node-cron 4 can run (5 fields, or 6 with seconds first),
 * or undefined when it is fine.
 */
export function cronProblem(expression: string): string | undefined {
  const result = validateDetailed(expression);
  if (result.valid) return undefined;
  const details = result.errors.map((error) =>
    error.field === "expression" ? error.message : `${error.field}: ${error.message}`,
  );
  return `not a valid cron expression (5 fields "minute hour day month weekday", or 6 with seconds first): ${details.join("; ")}`;
}

/** True when `Intl` knows the IANA time zone (`Europe/Warsaw`, `UTC`). */
export function isTimeZone(name: string): boolean {
  if (name.trim() === "") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
