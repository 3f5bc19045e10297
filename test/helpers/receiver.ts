import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { listenTracked } from "../../src/simulators/kit.js";
import { Webhook } from "standardwebhooks";

/**
 * A real webhook receiver on 127.0.0.1, port 0. Its answers can be switched mid-test: a fixed
 * reply, a sequence of replies (then the default), or a function of the request. Every request
 * is recorded with headers, body and arrival time. Signatures are checked with the
 * `standardwebhooks` package, never with retrohook's own code.
 */

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when the request was complete. */
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the socket instead of answering (connection reset). */
  reset?: boolean;
}

export type Responder = (request: ReceivedRequest, index: number) => Reply;

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Requests read but not yet answered, now and at most so far. */
  readonly inProgress: number;
  readonly maxInProgress: number;
  /** Every later request gets this reply. */
  reply(reply: Reply): void;
  /** The next requests get these replies in turn, then the default again. */
  replySequence(replies: Reply[]): void;
  /** Full control: a reply per request. */
  respond(responder: Responder): void;
  /** Delay before the request body is read (a slow receiver). */
  setReadDelay(ms: number): void;
  /** Resolves once at least `count` requests arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** The parsed bodies, in arrival order. */
  bodies<T = unknown>(): T[];
  close(): Promise<void>;
}

export async function startReceiver(initial: Reply = { status: 200, body: "ok" }): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let fallback: Reply = initial;
  let sequence: Reply[] = [];
  let responder: Responder | undefined;
  let readDelayMs = 0;
  let inProgress = 0;
  let maxInProgress = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const server: Server = createServer((req, res) => {
    const read = (): void => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const request: ReceivedRequest = {
          method: req.method ?? "GET",
          path: req.url ?? "/",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        const index = requests.length;
        requests.push(request);
        inProgress += 1;
        maxInProgress = Math.max(maxInProgress, inProgress);
        for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
        const reply = responder ? responder(request, index) : (sequence.shift() ?? fallback);
        const send = (): void => {
          inProgress -= 1;
          if (reply.reset) {
            req.socket.destroy();
            return;
          }
          res.writeHead(reply.status, reply.headers ?? {});
          res.end(reply.body ?? "");
        };
        if (reply.delayMs) later(reply.delayMs, send);
        else send();
      });
    };
    if (readDelayMs > 0) {
      req.pause();
      later(readDelayMs, () => {
        req.resume();
        read();
      });
    } else read();
  });
  const { port, close } = await listenTracked(server);

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    get inProgress() {
      return inProgress;
    },
    get maxInProgress() {
      return maxInProgress;
    },
    reply(reply) {
      responder = undefined;
      sequence = [];
      fallback = reply;
    },
    replySequence(replies) {
      responder = undefined;
      sequence = [...replies];
    },
    respond(fn) {
      responder = fn;
    },
    setReadDelay(ms) {
      readDelayMs = ms;
    },
    waitFor(count, timeoutMs = 5000) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver got ${requests.length} of ${count} requests in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    bodies<T>() {
      return requests.map((r) => JSON.parse(r.body) as T);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await close();
    },
  };
}

/** Header values as `standardwebhooks` wants them (single strings). */
export function webhookHeaders(request: ReceivedRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") out[name] = value;
    else if (Array.isArray(value)) out[name] = value.join(", ");
  }
  return out;
}

/**
 * Verifies a request's Standard Webhooks signature with the `standardwebhooks` package: a
 * `whsec_` secret as is, any other as `{ format: "raw" }`. Throws when it does not verify.
 * The timestamp is checked against the request's arrival (`at`), as the receiver would have
 * checked it then: a long run verified at its end must not find its early requests "too old".
 */
export function verifySignature(request: ReceivedRequest, secret: string): unknown {
  const webhook = secret.startsWith("whsec_") ? new Webhook(secret) : new Webhook(secret, { format: "raw" });
  const now = Date.now;
  Date.now = () => request.at;
  try {
    return webhook.verify(request.body, webhookHeaders(request));
  } finally {
    Date.now = now;
  }
}
