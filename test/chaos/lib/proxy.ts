import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import { listenTracked } from "../../../src/simulators/kit.js";

/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of any vendor fake: requests are
 * forwarded unchanged; while a rule is armed, the responses it matches are replaced or mangled.
 * Works for every preset without touching its fake. Every faulted response is counted, so a
 * scenario can prove its fault was actually hit.
 */

export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TransformContext {
  request: ProxiedRequest;
  /** 1-based index of this request among those the rule matched since it was armed. */
  index: number;
  /** Upstream bodies (parsed JSON) of the earlier matched requests, in order. */
  earlier: unknown[];
  /** Upstream response headers of this request. */
  headers: Record<string, string>;
}

export type ProxyFault =
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: (request: ProxiedRequest) => string }
  | { kind: "html" }
  | { kind: "truncate" }
  | { kind: "reset" }
  /** Accepts and never answers (until the rule is disarmed). */
  | { kind: "hang" }
  /** Headers at once, then the body one byte per `intervalMs`. */
  | { kind: "trickle"; intervalMs: number }
  | { kind: "transform"; transform: (body: unknown, context: TransformContext) => { body: unknown; headers?: Record<string, string> } }
  /** The upstream JSON with `bytes` of padding inside a string, still valid JSON. */
  | { kind: "huge"; bytes: number }
  | { kind: "redirect"; location: (request: ProxiedRequest) => string; status?: number };

export interface ProxyRule {
  fault: ProxyFault;
  /** Which requests the rule may touch (default all). */
  match?: (request: ProxiedRequest) => boolean;
  /** Only these 1-based indexes among the matched requests (default every one). */
  nth?: number[];
}

export interface ProxyLogEntry {
  method: string;
  path: string;
  query: string;
  at: number;
  faulted: boolean;
}

export interface ChaosProxy {
  readonly url: string;
  readonly log: ProxyLogEntry[];
  /** Faulted responses since the last `arm`. */
  readonly applied: number;
  arm(rule: ProxyRule): void;
  disarm(): void;
  close(): Promise<void>;
}

export async function startProxy(upstream: string): Promise<ChaosProxy> {
  const target = new URL(upstream);
  const log: ProxyLogEntry[] = [];
  const hanging = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let rule: ProxyRule | undefined;
  let matched = 0;
  let applied = 0;
  let earlier: unknown[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://proxy.invalid");
      const request: ProxiedRequest = { method: req.method ?? "GET", path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      const entry: ProxyLogEntry = { method: request.method, path: url.pathname, query: url.search, at: Date.now(), faulted: false };
      log.push(entry);
      const active = rule;
      let index = 0;
      if (active && (!active.match || active.match(request))) {
        matched += 1;
        index = matched;
      }
      const hit = active !== undefined && index > 0 && (!active.nth || active.nth.includes(index));
      if (hit) {
        entry.faulted = true;
        applied += 1;
      }
      const fault = hit ? active!.fault : undefined;
      if (fault?.kind === "reset") {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === "hang") {
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }
      if (fault?.kind === "status") {
        res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers });
        res.end(fault.body ? fault.body(request) : JSON.stringify({ error: `injected ${fault.status}` }));
        return;
      }
      if (fault?.kind === "html") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end("<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We'll be back soon</h1></body></html>");
        return;
      }
      if (fault?.kind === "redirect") {
        res.writeHead(fault.status ?? 302, { location: fault.location(request) });
        res.end();
        return;
      }
      forward(request, Buffer.concat(chunks), req.headers, (status, headers, body) => {
        if (!fault && index === 0) return send(res, status, headers, body);
        const text = body.toString("utf8");
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
        const previous = earlier;
        earlier = [...earlier, parsed];
        if (!fault) return send(res, status, headers, body);
        switch (fault.kind) {
          case "truncate": {
            res.writeHead(status, { ...headers, "content-length": String(body.length) });
            res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
            later(20, () => res.socket?.destroy());
            return;
          }
          case "trickle": {
            res.writeHead(status, { ...headers, "content-length": String(body.length) });
            let at = 0;
            const drip = (): void => {
              if (res.destroyed || at >= body.length) return void res.end();
              res.write(body.subarray(at, at + 1));
              at += 1;
              later(fault.intervalMs, drip);
            };
            drip();
            return;
          }
          case "huge": {
            const padding = "x".repeat(fault.bytes);
            const padded = Array.isArray(parsed) ? JSON.stringify([...parsed.slice(0, 1).map((r) => ({ ...(r as object), padding }))]) : JSON.stringify({ ...(parsed as object), padding });
            return send(res, status, headers, Buffer.from(padded));
          }
          case "transform": {
            const out = fault.transform(parsed, { request, index, earlier: previous, headers });
            return send(res, status, { ...headers, ...out.headers }, Buffer.from(typeof out.body === "string" ? out.body : JSON.stringify(out.body)));
          }
          default:
            return send(res, status, headers, body);
        }
      }, () => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "proxy: upstream unreachable" }));
      });
    });
  });

  function later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  function forward(request: ProxiedRequest, body: Buffer, headers: IncomingHttpHeaders, done: (status: number, headers: Record<string, string>, body: Buffer) => void, failed: () => void): void {
    const search = request.query.toString();
    const upstreamRequest = httpRequest(
      { host: target.hostname, port: target.port, method: request.method, path: `${request.path}${search ? `?${search}` : ""}`, headers: { ...headers, host: target.host } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const out: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers)) {
            if (value === undefined || name === "transfer-encoding" || name === "connection" || name === "keep-alive" || name === "content-length") continue;
            out[name] = Array.isArray(value) ? value.join(", ") : value;
          }
          done(response.statusCode ?? 502, out, Buffer.concat(chunks));
        });
        response.on("error", failed);
      },
    );
    upstreamRequest.on("error", failed);
    upstreamRequest.end(body);
  }

  function send(res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): void {
    if (res.destroyed) return;
    res.writeHead(status, { ...headers, "content-length": String(body.length) });
    res.end(body);
  }

  const { port, close } = await listenTracked(server);

  return {
    url: `http://127.0.0.1:${port}`,
    log,
    get applied() {
      return applied;
    },
    arm(next) {
      rule = next;
      matched = 0;
      applied = 0;
      earlier = [];
    },
    disarm() {
      rule = undefined;
      for (const res of hanging) res.socket?.destroy();
      hanging.clear();
    },
    async close() {
      rule = undefined;
      for (const timer of timers) clearTimeout(timer);
      await close();
    },
  };
}
