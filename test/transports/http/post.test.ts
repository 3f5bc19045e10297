import { execFileSync } from "node:child_process";
import { getEventListeners } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BODY_SNIPPET_BYTES, TargetClient } from "../../../src/transports/http/post.js";
import { registerSecrets } from "../../../src/telemetry/logger.js";
import { startReceiver, type Receiver } from "../../helpers/receiver.js";
import { targetConfig } from "../../delivery/harness.js";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for 127.0.0.1, made with the openssl CLI. */
function selfSigned(): { key: string; cert: string; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "retrohook-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
    { stdio: "ignore" },
  );
  return { key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8"), certFile };
}

describe("TargetClient.post", () => {
  let rx: Receiver | undefined;
  const clients: TargetClient[] = [];
  const client = (...args: ConstructorParameters<typeof TargetClient>): TargetClient => {
    const c = new TargetClient(...args);
    clients.push(c);
    return c;
  };

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await rx?.close();
    rx = undefined;
  });

  it("returns status, headers, latency and the first 512 bytes of the body", async () => {
    rx = await startReceiver({ status: 202, headers: { "x-request-id": "r-1" }, body: "é".repeat(100_000) });
    const result = await client(targetConfig(rx.url)).post("{}", { "content-type": "application/json" });
    expect(result.status).toBe(202);
    expect(result.headers["x-request-id"]).toBe("r-1");
    expect(Buffer.byteLength(result.bodySnippet)).toBeLessThanOrEqual(BODY_SNIPPET_BYTES);
    expect(result.bodySnippet.startsWith("éé")).toBe(true);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.error).toBeUndefined();
  });

  it("scrubs the body before cutting it, so a secret straddling byte 512 leaves no prefix", async () => {
    const secret = "STRADDLEsecret9876543210";
    registerSecrets([secret]);
    rx = await startReceiver({ status: 400, body: `${"a".repeat(BODY_SNIPPET_BYTES - 6)}${secret} was refused; ${"ü".repeat(400)}` });
    const result = await client(targetConfig(rx.url)).post("{}", { "content-type": "application/json" });
    expect(result.bodySnippet).not.toContain("STRADD");
    expect(result.bodySnippet).toBe(`${"a".repeat(BODY_SNIPPET_BYTES - 6)}*** wa`);
    expect(Buffer.byteLength(result.bodySnippet)).toBeLessThanOrEqual(BODY_SNIPPET_BYTES);
  });

  it("sends the target's headers, lets the attempt's headers win, and a retrohook user-agent", async () => {
    rx = await startReceiver();
    const target = targetConfig(rx.url, { headers: { Authorization: "Bearer t0ken", "Content-Type": "text/plain" } });
    await client(target).post("{}", { "content-type": "application/json", "webhook-id": "evt_1" });
    const headers = rx.requests[0]!.headers;
    expect(headers.authorization).toBe("Bearer t0ken");
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-id"]).toBe("evt_1");
    expect(headers["user-agent"]).toMatch(/^retrohook\/\d+\.\d+\.\d+/);
  });

  it("reports a refused connection, without throwing", async () => {
    const probe = await startReceiver();
    const url = probe.url;
    await probe.close();
    const result = await client(targetConfig(url)).post("{}", {});
    expect(result.status).toBeUndefined();
    expect(result.error).toMatchObject({ kind: "connection", code: "ECONNREFUSED" });
  });

  it("reports a timeout", async () => {
    rx = await startReceiver({ status: 200, delayMs: 500 });
    const result = await client(targetConfig(rx.url, { timeout: 100 })).post("{}", {});
    expect(result.error?.kind).toBe("timeout");
  });

  it("does not leak abort listeners across requests", async () => {
    rx = await startReceiver();
    const c = client(targetConfig(rx.url));
    const controller = new AbortController();
    for (let i = 0; i < 15; i += 1) await c.post("{}", {}, controller.signal);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("is aborted by its signal", async () => {
    rx = await startReceiver({ status: 200, delayMs: 2_000 });
    const controller = new AbortController();
    const pending = client(targetConfig(rx.url)).post("{}", {}, controller.signal);
    await rx.waitFor(1);
    controller.abort();
    expect((await pending).error?.kind).toBe("aborted");
  });

  describe.skipIf(!hasOpenssl())("TLS", () => {
    it("fails verification of an unknown CA as a tls error, and trusts tls.ca (PEM or path)", async () => {
      const { key, cert, certFile } = selfSigned();
      const server = createHttpsServer({ key, cert }, (_req, res) => res.writeHead(204).end());
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
      try {
        const untrusted = await client(targetConfig(url)).post("{}", {});
        expect(untrusted.error?.kind).toBe("tls");
        expect((await client(targetConfig(url, { tls: { ca: cert } })).post("{}", {})).status).toBe(204);
        const pathFile = join(mkdtempSync(join(tmpdir(), "retrohook-ca-")), "ca.pem");
        writeFileSync(pathFile, readFileSync(certFile));
        expect((await client(targetConfig(url, { tls: { ca: pathFile } })).post("{}", {})).status).toBe(204);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
