/**
 * JSON with integers beyond 2^53 kept exactly. `JSON.parse` rounds 9007199254740993 to …992, so
 * two vendor ids could name one record. A body is parsed plainly first (the hot path); when a
 * record's id or cursor value comes out as an unsafe integer, the body is parsed again here:
 * every integer of 16+ digits beyond 2^53 (outside strings, no fraction or exponent) becomes a
 * string of its exact digits — the record's id, its cursor and `data.object` keep the vendor's
 * digits (a JSON number that large would be rounded by most receivers anyway).
 */

/** Strings (kept as they are) or whole integers of 16+ digits. */
const TOKENS = /"[^"\\]*(?:\\.[^"\\]*)*"|(?<![\w.+-])-?\d{16,}(?![\w.])/g;

export function parseJsonExact(text: string): unknown {
  return JSON.parse(
    text.replace(TOKENS, (token) => (token.charCodeAt(0) === 34 || Number.isSafeInteger(Number(token)) ? token : `"${token}"`)),
  ) as unknown;
}

/** A number `JSON.parse` may have rounded. */
export function isInexact(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value);
}
