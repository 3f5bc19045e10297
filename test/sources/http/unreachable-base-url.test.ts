import { describe, expect, it } from "vitest";
import { HttpClient } from "../../../src/sources/http/client.js";
import { SourceError } from "../../../src/sources/errors.js";
import { freePort } from "../../helpers/ports.js";

const clock = { now: () => Date.now(), sleep: async () => {} };

async function failureOf(baseUrl: string): Promise<SourceError> {
  const client = new HttpClient({ baseUrl, timeoutMs: 2_000, maxResponseBytes: 1_000_000, clock, attempts: 1 });
  try {
    await client.request({ url: "/items" });
  } catch (error) {
    return error as SourceError;
  } finally {
    client.close();
  }
  throw new Error("the request succeeded");
}

describe("an unreachable base_url", () => {
  it("ECONNREFUSED says to check base_url and the network", async () => {
    const error = await failureOf(`http://127.0.0.1:${await freePort()}`);
    expect(error).toBeInstanceOf(SourceError);
    expect(error.fault).toBe("connection");
    expect(error.message).toMatch(/^GET \/items: ECONNREFUSED .*check the source's base_url \(host and port\) and the network$/);
  });

  it("ENOTFOUND says to check base_url and the network", async () => {
    // `.invalid` never resolves (RFC 6761), so no query leaves for a real name server's answer.
    const error = await failureOf("http://retrohook-test.invalid");
    expect(error.fault).toBe("connection");
    expect(error.message).toMatch(/(ENOTFOUND|EAI_AGAIN).*check the source's base_url \(or domain\) and the network \(DNS\)$/);
  });
});
