/**
 * Durations and byte sizes as users write them in the config.
 *
 * Policy: a duration needs a unit (`500ms`, `10s`, `5m`, `72h`, `1d`, or combined `1h30m`).
 * A bare number is rejected (is `30` seconds or milliseconds?) except `0`, which means the same
 * in every unit.
 */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export const DURATION_HINT = 'a duration like "500ms", "10s", "5m", "72h", "1d" or "1h30m"';
/** JSON Schema pattern of a duration string (the loader accepts the same set). */
export const DURATION_PATTERN = "^\\s*(\\d+(\\.\\d+)?(ms|s|m|h|d))+\\s*$|^\\s*0\\s*$";

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** `"1h30m"` → 5,400,000 ms. */
export function parseDuration(input: string | number): Parsed<number> {
  if (typeof input === "number") {
    if (input === 0) return { ok: true, value: 0 };
    return { ok: false, problem: `a bare number has no unit; write ${DURATION_HINT} (e.g. "${input}s")` };
  }
  const text = input.trim();
  if (text === "0") return { ok: true, value: 0 };
  if (text === "") return { ok: false, problem: `empty; expected ${DURATION_HINT}` };
  if (/^\d+(\.\d+)?$/.test(text)) {
    return { ok: false, problem: `a bare number has no unit; write ${DURATION_HINT} (e.g. "${text}s")` };
  }
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const match = DURATION_PART.exec(text);
    if (!match) return { ok: false, problem: `not ${DURATION_HINT}` };
    total += Number(match[1]) * (DURATION_UNITS[match[2]!] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) return { ok: false, problem: `not ${DURATION_HINT}` };
  return { ok: true, value: Math.round(total) };
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

export const BYTE_SIZE_HINT = 'a number of bytes or a size like "512KB", "50MB", "1GB" (binary: 1 MB = 1,048,576 bytes)';

/** `"50MB"` → 52,428,800 (units are binary: the 50 MB default is 50 MiB). */
export function parseByteSize(input: string | number): Parsed<number> {
  if (typeof input === "number") {
    if (!Number.isInteger(input) || input <= 0) return { ok: false, problem: `must be a positive whole number of bytes` };
    return { ok: true, value: input };
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  const factor = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) return { ok: false, problem: `not ${BYTE_SIZE_HINT}` };
  const value = Math.floor(Number(match[1]) * factor);
  if (value <= 0) return { ok: false, problem: "must be more than 0 bytes" };
  return { ok: true, value };
}
