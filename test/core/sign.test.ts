import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { facturascriptsSignature, preparedKey, rawSecretWarning, signingKey, SigningSecretError, standardSignature, standardWebhookHeaders } from "../../src/core/sign.js";
import { createHmac } from "node:crypto";
import { thrown } from "../helpers/thrown.js";

const body = JSON.stringify({ id: "evt_1", type: "cost_invoice.paid", data: { object: { name: "Zażółć gęślą jaźń €" } } });
const nowSeconds = () => Math.floor(Date.now() / 1000);

function verify(secret: string, headers: Record<string, string>, payload = body, raw = false): unknown {
  const webhook = raw ? new Webhook(secret, { format: "raw" }) : new Webhook(secret);
  return webhook.verify(payload, headers);
}

describe("Standard Webhooks signing", () => {
  it("a whsec_ secret verifies with the standardwebhooks package", () => {
    const secret = "whsec_" + Buffer.from("a 24-byte signing secret").toString("base64");
    const headers = standardWebhookHeaders("evt_1", nowSeconds(), body, signingKey(secret));
    expect(headers["webhook-id"]).toBe("evt_1");
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(verify(secret, headers)).toEqual(JSON.parse(body));
  });

  it("matches Webhook.sign byte for byte", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ts = 1_700_000_000;
    expect(standardSignature("msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body, signingKey(secret))).toBe(
      new Webhook(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", new Date(ts * 1000), body),
    );
  });

  it("a key prepared once signs as the key bytes do, for whsec_ and plain secrets", () => {
    for (const secret of ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "clé-secrète-ÿ"]) {
      expect(standardSignature("evt_k", 1_700_000_000, body, preparedKey(secret))).toBe(standardSignature("evt_k", 1_700_000_000, body, signingKey(secret)));
    }
    expect(() => preparedKey("")).toThrow(SigningSecretError);
  });

  it.each([
    ["ASCII", "plain-secret-123"],
    ["Latin-1", "clé-secrète-ÿ"],
  ])("a plain %s secret is raw key bytes, verified by the package's raw mode", (_label, secret) => {
    const headers = standardWebhookHeaders("evt_2", nowSeconds(), body, signingKey(secret));
    expect(verify(secret, headers, body, true)).toEqual(JSON.parse(body));
    // the receiver needs raw mode: the default mode base64-decodes the secret
    expect(() => verify(secret, headers)).toThrow();
  });

  it("raw key bytes are the Latin-1 code units of the secret", () => {
    expect(signingKey("clé")).toEqual(Buffer.from("clé", "latin1"));
  });

  it("warns about non-ASCII plain secrets only", () => {
    expect(rawSecretWarning("plain-secret")).toBeUndefined();
    expect(rawSecretWarning("whsec_AAAA")).toBeUndefined();
    expect(rawSecretWarning("hasło")).toMatch(/non-ASCII/);
  });

  it("a tampered body or a wrong secret does not verify", () => {
    const secret = "whsec_" + Buffer.from("another secret").toString("base64");
    const headers = standardWebhookHeaders("evt_3", nowSeconds(), body, signingKey(secret));
    expect(() => verify(secret, headers, body + " ")).toThrow();
    expect(() => verify("whsec_" + Buffer.from("wrong").toString("base64"), headers)).toThrow();
  });

  it("every attempt is signed with its own timestamp", () => {
    const key = signingKey("whsec_" + Buffer.from("k").toString("base64"));
    const first = standardWebhookHeaders("evt_4", 1_700_000_000, body, key);
    const second = standardWebhookHeaders("evt_4", 1_700_000_060, body, key);
    expect(first["webhook-timestamp"]).toBe("1700000000");
    expect(second["webhook-timestamp"]).toBe("1700000060");
    expect(first["webhook-signature"]).not.toBe(second["webhook-signature"]);
  });

  it("without a secret sends id and timestamp, no signature", () => {
    const headers = standardWebhookHeaders("evt_5", 1_700_000_000, body, undefined);
    expect(headers).toEqual({ "webhook-id": "evt_5", "webhook-timestamp": "1700000000" });
  });

  it.each(["whsec_not base64!", "whsec_", "whsec_A"])("rejects the malformed whsec_ secret %j without echoing it", (secret) => {
    const { message } = thrown(() => signingKey(secret), SigningSecretError);
    if (secret.length > "whsec_".length) expect(message).not.toContain(secret.slice(6));
  });

  it("rejects an empty secret", () => {
    expect(() => signingKey("")).toThrow(SigningSecretError);
  });
});

describe("facturascriptsSignature", () => {
  it("is the hex HMAC-SHA256 of the body with the secret string as key", () => {
    const expected = createHmac("sha256", "s3cret-ñ").update(body).digest("hex");
    expect(facturascriptsSignature(body, "s3cret-ñ")).toBe(expected);
    expect(facturascriptsSignature(body, "s3cret-ñ")).toMatch(/^[0-9a-f]{64}$/);
  });
});
