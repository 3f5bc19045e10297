import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { serveRpc } from "./rpc.js";

/**
 * The benchmark's webhook receiver, in its own process: answers every POST with 200 at once
 * (keep-alive), counts them, checks the Standard Webhooks signature of one request in
 * `verifyEvery` with the `standardwebhooks` package, and when tracking notes when each
 * (record id, rev) arrived — the latency scenario's receipt times.
 */

interface Receipt {
  id: number;
  rev: number;
  at: number;
}

let count = 0;
let firstAt = 0;
let lastAt = 0;
let verified = 0;
let badSignatures = 0;
let unsigned = 0;
let verifyEvery = 100;
let webhook: Webhook | undefined;
let tracking = false;
let receipts: Receipt[] = [];

const OK = Buffer.from("ok");

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const at = Date.now();
    count += 1;
    if (firstAt === 0) firstAt = at;
    lastAt = at;
    if (tracking || (webhook && count % verifyEvery === 1)) {
      const body = Buffer.concat(chunks).toString("utf8");
      if (webhook && (tracking || count % verifyEvery === 1)) {
        if (req.headers["webhook-signature"] === undefined) unsigned += 1;
        else {
          try {
            webhook.verify(body, req.headers as Record<string, string>);
            verified += 1;
          } catch {
            badSignatures += 1;
          }
        }
      }
      if (tracking) {
        const object = (JSON.parse(body) as { data?: { object?: { id?: number; rev?: number } } }).data?.object;
        if (object?.id !== undefined && object.rev !== undefined) receipts.push({ id: object.id, rev: object.rev, at });
      }
    }
    res.writeHead(200, { "content-type": "text/plain", "content-length": OK.length });
    res.end(OK);
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

serveRpc({
  listen: async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
  },
  /** Starts a new measurement: counters zeroed; `secret` (whsec_…) turns signature checks on. */
  reset: (args: { secret?: string; track?: boolean; verifyEvery?: number }) => {
    count = 0;
    firstAt = 0;
    lastAt = 0;
    verified = 0;
    badSignatures = 0;
    unsigned = 0;
    receipts = [];
    tracking = args.track ?? false;
    verifyEvery = args.verifyEvery ?? 100;
    webhook = args.secret ? new Webhook(args.secret) : undefined;
    return null;
  },
  stats: () => ({ count, firstAt, lastAt, verified, badSignatures, unsigned }),
  receipts: () => receipts,
});
