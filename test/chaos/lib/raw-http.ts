import { connect } from "node:net";
import { scanner } from "./secrets.js";

/**
 * One raw HTTP exchange over a socket: what `fetch` would refuse to send (unnormalised `..`,
 * NUL bytes, broken request lines, oversized headers). Resolves with the status (0 when the
 * server closed without answering) and the raw answer; the answer goes to the leak scanner.
 */
export function rawRequest(base: string, raw: string | Buffer, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      scanner.scan("admin API", "raw request", text);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : 0, text });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // One answer is enough: stop at the end of a response with a content-length.
      const text = Buffer.concat(chunks).toString("latin1");
      const head = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text.slice(0, head))?.[1];
      if (head >= 0 && length !== undefined && Buffer.byteLength(text.slice(head + 4), "latin1") >= Number(length)) finish();
    });
    socket.on("error", finish);
    socket.on("close", finish);
    socket.write(raw);
  });
}
