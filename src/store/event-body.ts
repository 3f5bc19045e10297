import type { EventEnvelope } from "../core/types.js";
import type { StoredEvent } from "./store.js";

/**
 * A stored event as read back from its standard body. Its envelope's head (`id`, `type`,
 * `source`, `resource`, `kind`, `record_id`, `detected_at`) is parsed from the text before
 * `data`, and `data` only when something reads it (then once, from the whole body): a delivery
 * in the standard format sends the body's bytes and reads only the head, and parsing the whole
 * of a 1 KB body cost about four times the head in a delivery's CPU.
 *
 * Bodies are written as `JSON.stringify` writes an envelope, `data` last. The first `,"data":`
 * of such a text is the envelope's own key (a string value cannot hold an unescaped quote, and
 * the head's values are strings or null). Any other text — a head that does not parse, lacks or
 * adds a key, or a body that does not end as an object under `data` does — is parsed whole.
 */
export function storedEventOf(body: string): StoredEvent {
  return { body, envelope: envelopeOf(body) };
}

const HEAD_KEYS = ["id", "type", "source", "resource", "kind", "record_id", "detected_at"] as const;
const DATA_KEY = ',"data":';

function envelopeOf(body: string): EventEnvelope {
  const at = body.indexOf(DATA_KEY);
  if (at < 0 || !body.endsWith("}}")) return JSON.parse(body) as EventEnvelope;
  let head: Record<string, unknown>;
  try {
    head = JSON.parse(`${body.slice(0, at)}}`) as Record<string, unknown>;
  } catch {
    return JSON.parse(body) as EventEnvelope;
  }
  if (!isHead(head)) return JSON.parse(body) as EventEnvelope;
  Object.defineProperty(head, "data", {
    enumerable: true,
    configurable: true,
    get(this: Record<string, unknown>) {
      const data = (JSON.parse(body) as EventEnvelope).data;
      Object.defineProperty(this, "data", { value: data, enumerable: true, configurable: true, writable: true });
      return data;
    },
    set(this: Record<string, unknown>, value: unknown) {
      Object.defineProperty(this, "data", { value, enumerable: true, configurable: true, writable: true });
    },
  });
  return head as unknown as EventEnvelope;
}

function isHead(head: Record<string, unknown>): boolean {
  if (head === null || typeof head !== "object" || Array.isArray(head) || Object.keys(head).length !== HEAD_KEYS.length) return false;
  for (const key of HEAD_KEYS) {
    const value = head[key];
    if (typeof value === "string") continue;
    if (value === null && (key === "resource" || key === "kind" || key === "record_id")) continue;
    return false;
  }
  return true;
}
