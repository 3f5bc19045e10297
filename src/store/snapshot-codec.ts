import { isUtf8 } from "node:buffer";
import { getPath } from "../core/fingerprint.js";
import type { JsonValue, RecordsOrigin } from "../core/types.js";
import { StateError } from "../errors.js";

/**
 * The texts of a silent baseline of `count` records: the JSON of each element of the origin's
 * array — the text change detection would have stored, since the records are those elements
 * untouched. `where` names the resource in the error when the array is not what was promised.
 */
export function baselineTexts(origin: RecordsOrigin, count: number, where: string): string[] {
  const { bytes, spans, texts } = baselineElements(origin, count, where);
  const out = new Array<string>(texts.length);
  for (let i = 0; i < texts.length; i += 1) out[i] = texts[i] ?? bytes.toString("utf8", spans[2 * i], spans[2 * i + 1]);
  return out;
}

/**
 * A silent baseline's texts as `baselineTexts` gives them, most of them left in the response's
 * bytes: element `i` is `texts[i]` when set, else the bytes from `spans[2i]` to `spans[2i + 1]`.
 */
export interface BaselineElements {
  bytes: Buffer;
  spans: Int32Array;
  texts: Array<string | undefined>;
}

/**
 * The texts of a silent baseline without parsing the response: an element whose bytes are
 * already what `JSON.stringify(JSON.parse(bytes))` gives — no whitespace, no escape but those
 * `JSON.stringify` writes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`), numbers written as
 * JavaScript writes them, no key twice and no key of digits only (JavaScript puts those first)
 * in an object, valid UTF-8 — is its own text. Any other element is parsed and written again,
 * and a body the scanner does not follow is read the old way (`JSON.parse` of the whole body).
 */
export function baselineElements(origin: RecordsOrigin, count: number, where: string): BaselineElements {
  const bytes = Buffer.from(origin.bytes.buffer, origin.bytes.byteOffset, origin.bytes.byteLength);
  const scanned = isUtf8(bytes) ? scanElements(bytes, origin.path) : undefined;
  if (scanned && scanned.count === count) {
    const texts = new Array<string | undefined>(count).fill(undefined);
    for (let i = 0; i < count; i += 1) {
      if (scanned.spans[2 * i + 1]! >= 0) continue;
      const start = scanned.spans[2 * i]!;
      const end = -scanned.spans[2 * i + 1]! - 1;
      texts[i] = JSON.stringify(JSON.parse(bytes.toString("utf8", start, end)));
    }
    return { bytes, spans: scanned.spans, texts };
  }
  const text = bytes.toString("utf8");
  const body = JSON.parse(text) as JsonValue;
  const items = origin.path ? getPath(body, origin.path) : body;
  if (!Array.isArray(items) || items.length !== count) {
    const found = Array.isArray(items) ? `${items.length} elements` : "no array";
    throw new StateError(`baseline of ${where}: ${count} records to write, ${found} at ${origin.path ? `"${origin.path}"` : "the body"} of their response`);
  }
  return { bytes, spans: new Int32Array(0), texts: items.map((item) => JSON.stringify(item)) };
}

/** Thrown by the scanner on anything it does not follow (the body is then parsed whole). */
class Unfollowed extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Escapes `JSON.stringify` writes as such: `"`, `\`, b, f, n, r, t. */
const SHORT_ESCAPE = new Uint8Array(128);
for (const c of '"\\bfnrt') SHORT_ESCAPE[c.charCodeAt(0)] = 1;

/**
 * The elements of the array at `path` (dotted, through objects; the last of a repeated key, as
 * `JSON.parse` keeps it) of a body `JSON.parse` reads: per element its start and end offsets,
 * the end as `-end - 1` when the bytes are not its text. Undefined when there is no array there
 * or the scanner does not follow the body.
 */
function scanElements(bytes: Uint8Array, path: string | undefined): { spans: Int32Array; count: number } | undefined {
  try {
    return new Scanner(bytes).elements(path === undefined || path === "" ? [] : path.split("."));
  } catch (error) {
    if (error instanceof Unfollowed || error instanceof RangeError) return undefined;
    throw error;
  }
}

class Scanner {
  /** Whether the element scanned so far is its own text. */
  private canonical = true;
  /** Hashes of the keys of the objects being scanned, innermost last. */
  private keys = new Int32Array(64);
  private top = 0;
  private hash = 0;
  private digitsOnly = false;
  private hasEscape = false;

  constructor(private readonly b: Uint8Array) {}

  /** The array found at the path so far (a later occurrence of a key replaces it, as JSON.parse does). */
  private found: { spans: Int32Array; count: number } | undefined;

  elements(steps: string[]): { spans: Int32Array; count: number } | undefined {
    const end = this.space(this.walk(this.space(0), steps, 0));
    if (end !== this.b.length) throw new Unfollowed();
    return this.found;
  }

  /** Scans the value at `at`, on the path to the array from `steps[depth]` on; returns its end. */
  private walk(at: number, steps: string[], depth: number): number {
    const b = this.b;
    if (depth === steps.length) return b[at] === OPEN_ARRAY ? this.records(at) : this.value(at);
    if (b[at] !== OPEN_OBJECT) return this.value(at);
    at = this.space(at + 1);
    if (b[at] === CLOSE_OBJECT) return at + 1;
    for (;;) {
      if (b[at] !== QUOTE) throw new Unfollowed();
      const keyStart = at;
      at = this.string(at, false);
      const key = this.hasEscape ? (JSON.parse(Buffer.from(b.buffer, b.byteOffset + keyStart, at - keyStart).toString("utf8")) as string) : Buffer.from(b.buffer, b.byteOffset + keyStart + 1, at - keyStart - 2).toString("utf8");
      at = this.space(at);
      if (b[at] !== COLON) throw new Unfollowed();
      at = this.space(at + 1);
      if (key === steps[depth]) {
        this.found = undefined;
        at = this.walk(at, steps, depth + 1);
      } else at = this.value(at);
      at = this.space(at);
      if (b[at] === COMMA) at = this.space(at + 1);
      else if (b[at] === CLOSE_OBJECT) return at + 1;
      else throw new Unfollowed();
    }
  }

  /** Scans the array of records at `at`, noting where each element is (`found`); returns its end. */
  private records(at: number): number {
    const b = this.b;
    let spans = new Int32Array(256);
    let count = 0;
    at = this.space(at + 1);
    if (b[at] === CLOSE_ARRAY) {
      this.found = { spans, count };
      return at + 1;
    }
    for (;;) {
      this.canonical = true;
      this.top = 0;
      const start = at;
      const end = this.value(at);
      if (2 * count + 2 > spans.length) {
        const grown = new Int32Array(spans.length * 2);
        grown.set(spans);
        spans = grown;
      }
      spans[2 * count] = start;
      spans[2 * count + 1] = this.canonical ? end : -end - 1;
      count += 1;
      at = this.space(end);
      if (b[at] === COMMA) at = this.space(at + 1);
      else if (b[at] === CLOSE_ARRAY) {
        this.found = { spans, count };
        return at + 1;
      } else throw new Unfollowed();
    }
  }

  private space(at: number): number {
    const b = this.b;
    for (;;) {
      const c = b[at];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at += 1;
      else return at;
    }
  }

  /** Skips whitespace inside an element (which makes it no text of its own). */
  private inner(at: number): number {
    const after = this.space(at);
    if (after !== at) this.canonical = false;
    return after;
  }

  /** The end of the value at `at`. */
  private value(at: number): number {
    const c = this.b[at];
    if (c === QUOTE) return this.string(at, false);
    if (c === OPEN_OBJECT) return this.object(at);
    if (c === OPEN_ARRAY) return this.array(at);
    if (c === 0x74) return this.literal(at, TRUE);
    if (c === 0x66) return this.literal(at, FALSE);
    if (c === 0x6e) return this.literal(at, NULL);
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number(at);
    throw new Unfollowed();
  }

  private object(at: number): number {
    const b = this.b;
    at = this.inner(at + 1);
    if (b[at] === CLOSE_OBJECT) return at + 1;
    const frame = this.top;
    for (;;) {
      if (b[at] !== QUOTE) throw new Unfollowed();
      at = this.string(at, true);
      if (this.digitsOnly) this.canonical = false;
      if (this.canonical) {
        const hash = this.hash;
        for (let k = frame; k < this.top; k += 1) {
          if (this.keys[k] === hash) {
            // The same key twice (or two keys of one hash): parsed, one survives.
            this.canonical = false;
            break;
          }
        }
        if (this.top === this.keys.length) {
          const grown = new Int32Array(this.keys.length * 2);
          grown.set(this.keys);
          this.keys = grown;
        }
        this.keys[this.top] = hash;
        this.top += 1;
      }
      at = this.inner(at);
      if (b[at] !== COLON) throw new Unfollowed();
      at = this.inner(this.value(this.inner(at + 1)));
      if (b[at] === COMMA) at = this.inner(at + 1);
      else if (b[at] === CLOSE_OBJECT) {
        this.top = frame;
        return at + 1;
      } else throw new Unfollowed();
    }
  }

  private array(at: number): number {
    const b = this.b;
    at = this.inner(at + 1);
    if (b[at] === CLOSE_ARRAY) return at + 1;
    for (;;) {
      at = this.inner(this.value(at));
      if (b[at] === COMMA) at = this.inner(at + 1);
      else if (b[at] === CLOSE_ARRAY) return at + 1;
      else throw new Unfollowed();
    }
  }

  /** The end of the string at `at`; a key's hash and whether it is all digits (then `hash`, `digitsOnly`). */
  private string(at: number, key: boolean): number {
    const b = this.b;
    let hash = 0x811c9dc5 | 0;
    let digits = true;
    this.hasEscape = false;
    at += 1;
    const start = at;
    for (;;) {
      const c = b[at];
      if (c === undefined) throw new Unfollowed();
      at += 1;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const e = b[at];
        if (e === undefined) throw new Unfollowed();
        at += 1;
        this.hasEscape = true;
        digits = false;
        if (e === 0x75) {
          // \uXXXX: JSON.stringify writes it only for control characters and lone surrogates.
          this.canonical = false;
          at += 4;
          continue;
        }
        if (e >= 128 || SHORT_ESCAPE[e] !== 1) {
          if (e !== 0x2f) throw new Unfollowed();
          this.canonical = false; // "\/"
          continue;
        }
        if (key) hash = Math.imul(Math.imul(hash ^ c, 0x01000193) ^ e, 0x01000193);
        continue;
      }
      if (c < 0x20) throw new Unfollowed();
      if (key) {
        hash = Math.imul(hash ^ c, 0x01000193);
        if (c < 0x30 || c > 0x39) digits = false;
      }
    }
    if (key) {
      this.hash = hash;
      this.digitsOnly = digits && at - 1 > start;
    }
    return at;
  }

  private literal(at: number, word: Uint8Array): number {
    const b = this.b;
    for (let i = 0; i < word.length; i += 1) if (b[at + i] !== word[i]) throw new Unfollowed();
    return at + word.length;
  }

  private number(at: number): number {
    const b = this.b;
    const start = at;
    let plain = true; // an integer of at most 15 digits without a leading zero: written as read
    if (b[at] === 0x2d) at += 1;
    const first = at;
    for (;;) {
      const c = b[at];
      if (c !== undefined && c >= 0x30 && c <= 0x39) at += 1;
      else if (c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) {
        plain = false;
        at += 1;
      } else break;
    }
    if (at === first) throw new Unfollowed();
    if (plain && at - first <= 15 && (b[first] !== 0x30 || at - first === 1) && !(b[first] === 0x30 && first > start)) return at;
    if (this.canonical) {
      const token = Buffer.from(b.buffer, b.byteOffset + start, at - start).toString("latin1");
      const value = Number(token);
      if (Number.isNaN(value)) throw new Unfollowed();
      if (JSON.stringify(value) !== token) this.canonical = false;
    }
    return at;
  }
}

const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");
const NULL = Buffer.from("null");
