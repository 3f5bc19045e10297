import { createHmac, createSecretKey, type KeyObject } from "node:crypto";

/**
 * Standard Webhooks signing (standardwebhooks.com). Every attempt is signed anew with the real
 * wall clock; the body itself is fixed at detection.
 *
 * Secrets: `whsec_` + base64 is decoded to the key bytes, as Standard Webhooks libraries do.
 * Any other string is used as raw key bytes, one byte per character exactly as the
 * `standardwebhooks` package's `{ format: "raw" }` mode reads it (the low 8 bits of each
 * character: Latin-1 for Latin-1 text). Receivers of a plain secret need that raw mode; a plain
 * secret should stay ASCII (see `rawSecretWarning`).
 */

const WHSEC_PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A signing secret that cannot be used; the message never contains the secret. */
export class SigningSecretError extends Error {
  override name = "SigningSecretError";
}

/** The HMAC key bytes of a target secret. Throws `SigningSecretError` for a malformed `whsec_` secret. */
export function signingKey(secret: string): Buffer {
  if (secret.startsWith(WHSEC_PREFIX)) {
    const encoded = secret.slice(WHSEC_PREFIX.length);
    const unpadded = encoded.replace(/=+$/, "");
    if (!BASE64.test(encoded) || unpadded.length % 4 === 1) {
      throw new SigningSecretError("a secret starting with whsec_ must continue with standard base64 (Standard Webhooks format)");
    }
    return Buffer.from(encoded, "base64");
  }
  if (secret.length === 0) throw new SigningSecretError("the signing secret is empty");
  return Buffer.from(Uint8Array.from(secret, (char) => char.charCodeAt(0)));
}

/**
 * The key of a target secret prepared once for HMAC (a `KeyObject`: signing with it skips
 * importing the key bytes on every message). Throws as `signingKey` does.
 */
export function preparedKey(secret: string): KeyObject {
  return createSecretKey(signingKey(secret));
}

/** Why a plain (non-`whsec_`) secret may not verify on every receiver, or undefined when it is fine. */
export function rawSecretWarning(secret: string): string | undefined {
  if (secret.startsWith(WHSEC_PREFIX)) return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(secret)) {
    return "a plain signing secret with non-ASCII characters is read differently by different Standard Webhooks libraries; use ASCII or a whsec_ secret";
  }
  return undefined;
}

/** `v1,` + base64 HMAC-SHA256 over `{id}.{timestamp}.{body}`. */
export function standardSignature(id: string, timestampSeconds: number, body: string, key: Uint8Array | KeyObject): string {
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`, "utf8").digest("base64");
  return `v1,${mac}`;
}

/**
 * The Standard Webhooks headers of one attempt. Without a key (target without `secret`) the id
 * and timestamp are still sent, the signature is not.
 */
export function standardWebhookHeaders(
  id: string,
  timestampSeconds: number,
  body: string,
  key: Uint8Array | KeyObject | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
  };
  if (key) headers["webhook-signature"] = standardSignature(id, timestampSeconds, body, key);
  return headers;
}

/**
 * `X-Webhook-Signature` of the `facturascripts` format: hex HMAC-SHA256 of the body, keyed with
 * the secret string exactly as configured (UTF-8), as a PHP `hash_hmac('sha256', $body, $secret)`
 * receiver computes it — also for a `whsec_` secret, which is not decoded here.
 */
export function facturascriptsSignature(body: string, secret: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body, "utf8").digest("hex");
}
