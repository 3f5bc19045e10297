import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { listenTracked } from "../../../src/simulators/kit.js";
import { join } from "node:path";
import type { ReceivedRequest } from "../../helpers/receiver.js";

/** Whether the `openssl` command is here (the TLS case needs it to make a certificate). */
export function opensslAvailable(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for 127.0.0.1, made with openssl in `dir`. */
export function selfSignedCert(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, "receiver-cert.pem");
  const keyFile = join(dir, "receiver-key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  return { certFile, keyFile };
}

/** An HTTPS receiver on 127.0.0.1 (answers 200), recording requests like test/helpers/receiver.ts. */
export async function startTlsReceiver(cert: { certFile: string; keyFile: string }): Promise<{ url: string; requests: ReceivedRequest[]; handshakeErrors: () => number; close(): Promise<void> }> {
  const requests: ReceivedRequest[] = [];
  let handshakeErrors = 0;
  const server: Server = createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests.push({ method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      res.writeHead(200);
      res.end("ok");
    });
  });
  server.on("tlsClientError", () => (handshakeErrors += 1));
  const listening = await listenTracked(server);
  return {
    url: `https://127.0.0.1:${listening.port}/hooks`,
    requests,
    handshakeErrors: () => handshakeErrors,
    close: () => listening.close(),
  };
}
