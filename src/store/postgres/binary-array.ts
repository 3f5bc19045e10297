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
