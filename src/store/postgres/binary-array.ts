import type { BaselineElements } from "../snapshot-codec.js";

/**
 * One-dimensional arrays in PostgreSQL's binary format (what `array_recv` reads), sent as a
 * Buffer parameter (`pg` sends Buffers in binary format) to a `$n::text[]` (…) placeholder.
 * This spares the text literal `pg` otherwise builds for an array — every element quoted and
 * escaped character by character — which cost more than the rest of a snapshot write.
 *
 * Layout: ndim, has-nulls flag, element type oid, then (length, lower bound 1), then each
 * element as its byte length (-1 for NULL) and its bytes, all integers big-endian.
 */

const TEXT_OID = 25;
const INT4_OID = 23;
const INT8_OID = 20;
const BOOL_OID = 16;

/**
 * `text[]`. `standalone`: the bytes get an ArrayBuffer of their own (not Node's shared pool),
 * so a worker thread can transfer it.
 */
export function textArray(values: ReadonlyArray<string | null>, standalone = false): Buffer {
  let size = 20;
  let nulls = 0;
  const lengths = new Int32Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (value === null || value === undefined) {
      lengths[i] = -1;
      nulls = 1;
      size += 4;
    } else {
      const length = Buffer.byteLength(value, "utf8");
      lengths[i] = length;
      size += 4 + length;
    }
  }
  const out = standalone ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
  let at = header(out, nulls, TEXT_OID, values.length);
  for (let i = 0; i < values.length; i += 1) {
    const length = lengths[i]!;
    out.writeInt32BE(length, at);
    at += 4;
    if (length > 0) at += out.write(values[i]!, at, length, "utf8");
  }
  return out;
}

/** `int4[]`, `int8[]` (numbers below 2^53) or `bool[]`; null and undefined are NULL. */
export function numberArray(kind: "int4" | "int8", values: ReadonlyArray<number | null | undefined>): Buffer {
  return fixedArray(kind === "int4" ? INT4_OID : INT8_OID, kind === "int4" ? 4 : 8, values, (out, at, value) => {
    if (kind === "int4") out.writeInt32BE(value, at);
    else out.writeBigInt64BE(BigInt(value), at);
  });
}

export function boolArray(values: ReadonlyArray<boolean>): Buffer {
  return fixedArray(BOOL_OID, 1, values, (out, at, value) => out.writeUInt8(value ? 1 : 0, at));
}

function fixedArray<T>(oid: number, width: number, values: ReadonlyArray<T | null | undefined>, put: (out: Buffer, at: number, value: T) => void): Buffer {
  const present = values.filter((v) => v !== null && v !== undefined).length;
  const out = Buffer.allocUnsafe(20 + values.length * 4 + present * width);
  let at = header(out, present < values.length ? 1 : 0, oid, values.length);
  for (const value of values) {
    if (value === null || value === undefined) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      out.writeInt32BE(width, at);
      put(out, at + 4, value);
      at += 4 + width;
    }
  }
  return out;
}

function header(out: Buffer, nulls: number, oid: number, count: number): number {
  out.writeInt32BE(1, 0); // dimensions
  out.writeInt32BE(nulls, 4);
  out.writeInt32BE(oid, 8);
  out.writeInt32BE(count, 12);
  out.writeInt32BE(1, 16); // lower bound
  return 20;
}

const COPY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/**
 * The rows of a silent baseline as the body of a `COPY @.snapshots (source, resource, record,
 * version, fingerprint, json) FROM STDIN (FORMAT binary)`: version 1, no fingerprint, each
 * record's key and text. A text still in the response's bytes (snapshot-codec.ts) is copied from
 * them; every string is encoded once, straight into a buffer sized for the worst case (3 bytes
 * per UTF-16 unit), its length written in front afterwards. `standalone` as for textArray.
 *
 * Layout: signature, flags and header-extension length (0, 0); per row the field count (int16)
 * and each field as its byte length (int32) and bytes; then -1 (int16).
 */
export function baselineCopy(source: string, resource: string, keys: readonly string[], elements: BaselineElements, standalone = false): Buffer {
  const { bytes, spans, texts } = elements;
  let bound = COPY_SIGNATURE.length + 8 + 2;
  const fixed = 3 * (source.length + resource.length);
  for (let i = 0; i < keys.length; i += 1) {
    const text = texts[i];
    bound += 2 + 6 * 4 + 4 + fixed + 3 * keys[i]!.length + (text === undefined ? spans[2 * i + 1]! - spans[2 * i]! : 3 * text.length);
  }
  const out = standalone ? Buffer.allocUnsafeSlow(bound) : Buffer.allocUnsafe(bound);
  let at = COPY_SIGNATURE.copy(out, 0);
  out.writeInt32BE(0, at);
  out.writeInt32BE(0, at + 4);
  at += 8;
  const text = (value: string): void => {
    const length = value.length === 0 ? 0 : out.write(value, at + 4, "utf8");
    out.writeInt32BE(length, at);
    at += 4 + length;
  };
  for (let i = 0; i < keys.length; i += 1) {
    out.writeInt16BE(6, at);
    at += 2;
    text(source);
    text(resource);
    text(keys[i]!);
    out.writeInt32BE(4, at);
    out.writeInt32BE(1, at + 4); // version
    at += 8;
    text(""); // fingerprint
    const json = texts[i];
    if (json !== undefined) text(json);
    else {
      const start = spans[2 * i]!;
      const end = spans[2 * i + 1]!;
      out.writeInt32BE(end - start, at);
      at += 4 + bytes.copy(out, at + 4, start, end);
    }
  }
  out.writeInt16BE(-1, at);
  return out.subarray(0, at + 2);
}

const COPY_HEADER = COPY_SIGNATURE.length + 8;
const COPY_TRAILER = 2;

/** Several `baselineCopy` bodies as the chunks of one COPY data stream (one header, one trailer; no bytes copied). */
export function joinedCopy(bodies: readonly Buffer[]): Buffer[] {
  return bodies.map((body, index) => body.subarray(index === 0 ? 0 : COPY_HEADER, index === bodies.length - 1 ? body.length : body.length - COPY_TRAILER));
}
