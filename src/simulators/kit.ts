import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";

/**
 * The shared plumbing of the shipped vendor fakes: a real HTTP server on loopback (port 0 by
 * default), a request log, and scriptable faults injected before the vendor logic runs.
 */

export interface FakeRequest {
  method: string;
  /** Path without query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
}

export type FakeHandler = (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export type Fault =
  | { type: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  | { type: "html" }
  | { type: "truncate" }
  | { type: "delay"; ms: number }
  | { type: "reset" }
  | { type: "redirect"; location: string; status?: number }
  | { type: "empty" };

export interface FaultRule {
  fault: Fault;
  /** Only requests whose path (and query) this matches; default every request. */
  match?: (request: FakeRequest) => boolean;
  /** How many requests it applies to; default 1. Infinity for "until cleared". */
  times?: number;
}

export interface FakeLogEntry {
  method: string;
  path: string;
  query: string;
  status: number;
  at: number;
}

export interface FakeServer {
  readonly url: string;
  readonly port: number;
  readonly requests: FakeLogEntry[];
  injectFault(rule: FaultRule): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface StartOptions {
  host?: string;
  port?: number;
}

/** A listening server whose `close()` also ends the connections still open (keep-alive, hanging requests). */
export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** Listens on `host:port` (loopback, a free port by default) and tracks connections so that `close()` does not wait for clients. */
export async function listenTracked(server: NetServer, options: StartOptions = {}): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export async function startFakeServer(handler: FakeHandler, options: StartOptions = {}): Promise<FakeServer> {
  const requests: FakeLogEntry[] = [];
  let faults: Array<Required<Pick<FaultRule, "fault" | "times">> & Pick<FaultRule, "match">> = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake.invalid");
      const request: FakeRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const log: FakeLogEntry = { method: request.method, path: url.pathname, query: url.search, status: 0, at: Date.now() };
      requests.push(log);
      void respond(request, res, log);
    });
  });

  async function respond(request: FakeRequest, res: ServerResponse, log: FakeLogEntry): Promise<void> {
    const index = faults.findIndex((rule) => rule.times > 0 && (!rule.match || rule.match(request)));
    const rule = index >= 0 ? faults[index] : undefined;
    if (rule) {
      rule.times -= 1;
      faults = faults.filter((r) => r.times > 0);
      const done = await applyFault(rule.fault, request, res, log);
      if (done) return;
    }
    let response: FakeResponse;
    try {
      response = await handler(request);
    } catch (error) {
      response = { status: 500, body: { error: error instanceof Error ? error.message : String(error) } };
    }
    send(res, response, log, rule?.fault.type === "truncate");
  }

  async function applyFault(fault: Fault, request: FakeRequest, res: ServerResponse, log: FakeLogEntry): Promise<boolean> {
    switch (fault.type) {
      case "status":
        send(res, { status: fault.status, headers: fault.headers, body: fault.body ?? { error: `fault ${fault.status}` } }, log, false);
        return true;
      case "html":
        send(res, { status: 200, headers: { "content-type": "text/html" }, body: "<!DOCTYPE html><html><body>Maintenance</body></html>" }, log, false);
        return true;
      case "empty":
        send(res, { status: 200, headers: { "x-total-count": "0" }, body: [] }, log, false);
        return true;
      case "redirect":
        send(res, { status: fault.status ?? 302, headers: { location: fault.location }, body: "" }, log, false);
        return true;
      case "reset":
        log.status = -1;
        res.socket?.destroy();
        return true;
      case "delay":
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        void request;
        return false;
      case "truncate":
        return false;
    }
  }

  function send(res: ServerResponse, response: FakeResponse, log: FakeLogEntry, truncate: boolean): void {
    if (res.destroyed) return;
    log.status = response.status;
    const isText = typeof response.body === "string";
    const payload = response.body === undefined ? "" : isText ? (response.body as string) : JSON.stringify(response.body);
    const headers: Record<string, string> = {
      ...(isText || response.body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
      ...response.headers,
    };
    if (truncate) {
      const cut = payload.slice(0, Math.max(1, Math.floor(payload.length / 2)));
      res.writeHead(response.status, { ...headers, "content-length": String(Buffer.byteLength(payload)) });
      res.write(cut);
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    res.writeHead(response.status, { ...headers, "content-length": String(Buffer.byteLength(payload)) });
    res.end(payload);
  }

  const listening = await listenTracked(server, options);
  const host = options.host ?? "127.0.0.1";

  return {
    url: `http://${host}:${listening.port}`,
    port: listening.port,
    requests,
    injectFault(rule) {
      faults.push({ fault: rule.fault, times: rule.times ?? 1, match: rule.match });
    },
    clearFaults() {
      faults = [];
    },
    close: () => listening.close(),
  };
}
