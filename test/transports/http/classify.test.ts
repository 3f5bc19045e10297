import { describe, expect, it } from "vitest";
import { classify } from "../../../src/transports/http/classify.js";

describe("classify", () => {
  it.each([200, 201, 204, 299])("%i is a success", (status) => {
    expect(classify({ status }).outcome).toBe("success");
  });
  it.each([408, 425, 429, 500, 502, 503, 504])("%i is retried", (status) => {
    expect(classify({ status }).outcome).toBe("retry");
  });
  it.each([301, 302, 307, 308])("%i is retried, not followed, and says so", (status) => {
    const verdict = classify({ status, location: "https://new.example/hooks" });
    expect(verdict.outcome).toBe("retry");
    expect(verdict.reason).toContain("not followed");
    expect(verdict.reason).toContain("https://new.example/hooks");
  });
  it.each([400, 401, 403, 404, 410, 422])("%i is a dead letter", (status) => {
    expect(classify({ status }).outcome).toBe("dead");
  });
  it.each(["timeout", "connection", "tls", "other"] as const)("a %s error is retried", (kind) => {
    const verdict = classify({ error: { kind, message: "boom" } });
    expect(verdict).toEqual({ outcome: "retry", reason: `${kind}: boom` });
  });
});
