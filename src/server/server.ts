import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { secretValues } from "../config/secrets.js";
import { errorMessage } from "../errors.js";
import { scrubSecrets } from "../telemetry/logger.js";
import { adminRoutes, type ServerContext } from "./admin.js";
import { AdminAuth, LoginThrottle, SESSION_COOKIE, sameOrigin } from "./auth.js";
import { HttpError, readBody, send, sendJson, type Scrubber } from "./http.js";
import { checkServerConfig, isLoopbackHost, localUrl, type ListenAddress } from "./listen.js";
import { pacedRenders, refreshGauges } from "./metrics-refresh.js";
import { LOGIN_SECURITY_HEADERS, UI_SECURITY_HEADERS, loginPage, uiAsset } from "./ui/assets.js";

export type { ServerContext } from "./admin.js";

export interface RunningServer {
  /** Where a client on this machine reaches it (`http://127.0.0.1:PORT`). */
  url: string;
  address: ListenAddress;
  close(): Promise<void>;
}

/**
 * The operations server on `server.listen`: `/healthz` and `/readyz` for anyone, `/metrics` too
 * on loopback (off loopback it needs the admin token unless `server.metrics_public`);
 * the admin API (`/api/…`) and the web UI (`/`) behind `admin_token` when one is set — and one
 * must be set when the address is not loopback (a `ConfigError` otherwise, before binding).
 * Every answer is scrubbed of the config's secrets.
 */
export async function startServer(ctx: ServerContext): Promise<RunningServer> {
  const wanted = checkServerConfig(ctx.config.server);
  const auth = new AdminAuth(ctx.config.server.admin_token || undefined);
  const logins = new LoginThrottle(() => ctx.clock.now());
  const secrets = secretValues(ctx.config);
  const scrub: Scrubber = (text) => scrubSecrets(text, secrets);
  const routes = adminRoutes(ctx);
  const logger = ctx.logger.child({ component: "server" });
  const metricsNeedToken = !isLoopbackHost(wanted.host) && !ctx.config.server.metrics_public;
  const scrape = pacedRenders(async () => {
    await refreshGauges({ ...ctx, now: ctx.clock.now() });
    return scrub(await ctx.metrics.registry.metrics());
  });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        sendJson(res, error.status, { error: error.message }, scrub, error.headers);
        return;
      }
      logger.error({ method: req.method, path: pathOnly(req.url), err: errorMessage(error) }, "admin request failed");
      sendJson(res, 500, { error: `internal error: ${errorMessage(error)}` }, scrub);
    });
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const path = checkedPath(req.url);
    const url = new URL(path + queryOf(req.url), "http://retrohook.invalid");

    if (path === "/healthz" || path === "/readyz" || path === "/metrics") {
      allowMethods(method, ["GET", "HEAD"]);
      if (path === "/healthz") return sendJson(res, 200, { status: "ok" }, scrub);
      if (path === "/readyz") {
        const overlong = ctx.scheduler?.overlong() ?? [];
        const checks = { config: true, state: await stateReachable(ctx), scheduler: ctx.scheduler?.isRunning() ?? false, passes: overlong.length === 0 };
        const ready = Object.values(checks).every(Boolean);
        const stuck = overlong.map((o) => ({ source: o.source, runningSeconds: Math.round(o.runningMs / 1000) }));
        return sendJson(res, ready ? 200 : 503, { ready, checks, ...(stuck.length > 0 ? { overlongPasses: stuck } : {}) }, scrub);
      }
      if (metricsNeedToken) {
        const allowed = auth.check(req);
        if (!allowed.ok) {
          logger.warn({ method, path, remote: req.socket.remoteAddress, reason: allowed.reason }, "metrics request refused");
          throw new HttpError(401, `${allowed.reason}; /metrics needs the admin token when server.listen is reachable from other machines (or set server.metrics_public: true)`, { "www-authenticate": 'Bearer realm="retrohook"' });
        }
      }
      return scrape((body) => send(res, 200, ctx.metrics.registry.contentType, body, NOT_SCRUBBED_AGAIN));
    }

    if (path === "/login") {
      allowMethods(method, ["POST"]);
      if (!sameOrigin(req)) throw new HttpError(403, "cross-origin sign-in refused");
      const client = req.socket.remoteAddress ?? "unknown";
      const waitMs = logins.waitMs(client);
      if (waitMs > 0) {
        logger.warn({ remote: client, waitMs }, "admin sign-in refused: too many wrong tokens from this client; waiting");
        const seconds = Math.ceil(waitMs / 1000);
        return send(res, 429, "text/html; charset=utf-8", loginPage(`Too many wrong tokens: try again in ${seconds} s.`), scrub, { ...LOGIN_SECURITY_HEADERS, "retry-after": String(seconds) });
      }
      const token = new URLSearchParams(await readBody(req)).get("token") ?? "";
      const session = auth.signIn(token);
      if (!session) {
        const { failures, blockedMs } = logins.failed(client);
        logger.warn({ remote: client, failures, blockedMs }, "admin sign-in refused: wrong token");
        return send(res, 401, "text/html; charset=utf-8", loginPage("Wrong token."), scrub, LOGIN_SECURITY_HEADERS);
      }
      logins.succeeded(client);
      return send(res, 303, "text/plain; charset=utf-8", "signed in\n", scrub, {
        location: "/",
        "set-cookie": `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`,
      });
    }

    const isUi = path === "/" || path === "/index.html" || path.startsWith("/ui/");
    const allowed = auth.check(req);
    if (!allowed.ok) {
      logger.warn({ method, path, remote: req.socket.remoteAddress, reason: allowed.reason }, "admin request refused");
      if (isUi && auth.required && (method === "GET" || method === "HEAD")) return send(res, 401, "text/html; charset=utf-8", loginPage(), scrub, LOGIN_SECURITY_HEADERS);
      throw new HttpError(auth.required ? 401 : 403, allowed.reason, auth.required ? { "www-authenticate": 'Bearer realm="retrohook"' } : {});
    }
    if (method === "POST" && !sameOrigin(req)) throw new HttpError(403, "cross-origin request refused");

    if (isUi) {
      allowMethods(method, ["GET", "HEAD"]);
      const asset = uiAsset(path === "/" || path === "/index.html" ? "index.html" : path.slice("/ui/".length));
      if (!asset) throw new HttpError(404, `no such file: ${path}`);
      return send(res, 200, asset.contentType, asset.body, scrub, UI_SECURITY_HEADERS);
    }

    const matching = routes.filter((route) => route.pattern.test(path));
    if (matching.length === 0) throw new HttpError(404, `no such endpoint: ${path} (see GET /api for the list)`);
    const route = matching.find((r) => r.method === method || (method === "HEAD" && r.method === "GET"));
    if (!route) allowMethods(method, matching.map((r) => r.method));
    const params = (route!.pattern.exec(path) ?? []).slice(1);
    const result = await route!.handle({ req, url, params, via: allowed.via });
    sendJson(res, 200, result, scrub);
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new Error(`server.listen ${ctx.config.server.listen}: cannot listen (${error.code ?? error.message})`));
    server.once("error", onError);
    server.listen(wanted.port, wanted.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  const url = localUrl(address);
  server.on("error", (error) => logger.error({ err: errorMessage(error) }, "server error"));

  return {
    url,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** For a body scrubbed once when it was rendered and shared by every scrape waiting for it. */
const NOT_SCRUBBED_AGAIN: Scrubber = (text) => text;

/** 405 with `Allow` unless the method is one of `allowed` (HEAD counts as GET). */
function allowMethods(method: string, allowed: string[]): void {
  const list = [...new Set(allowed.includes("GET") ? [...allowed, "HEAD"] : allowed)];
  if (!list.includes(method)) throw new HttpError(405, `method ${method} not allowed here (allowed: ${list.join(", ")})`, { allow: list.join(", ") });
}

function pathOnly(raw: string | undefined): string {
  return (raw ?? "/").split("?")[0]!;
}

function queryOf(raw: string | undefined): string {
  const at = (raw ?? "").indexOf("?");
  return at < 0 ? "" : (raw ?? "").slice(at);
}

/**
 * The decoded path, refusing what could climb out of a folder (`..`, `.`, backslashes, NUL,
 * encoded slashes) with 400 instead of normalising it away. Path parameters stay decoded per segment.
 */
function checkedPath(raw: string | undefined): string {
  const path = pathOnly(raw);
  if (!path.startsWith("/")) throw new HttpError(400, "request target must be a path starting with /");
  const segments = path.split("/");
  const decoded = segments.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new HttpError(400, "malformed percent-encoding in the path");
    }
  });
  if (decoded.some((s) => s === ".." || s === "." || s.includes("/") || s.includes("\\") || s.includes("\0"))) {
    throw new HttpError(400, "path traversal is not allowed");
  }
  return decoded.join("/");
}

/**
 * How long `/readyz` waits for the state's answer: a state call waits for a free connection of a
 * busy PostgreSQL pool for up to two minutes (it is not a connect failure), the probe never does.
 */
const READY_STATE_MS = 10_000;

async function stateReachable(ctx: ServerContext): Promise<boolean> {
  const fromEnv = Number(process.env.RETROHOOK_TEST_READYZ_STATE_MS);
  const limitMs = Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : READY_STATE_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ctx.store.getSourceState(ctx.config.sources[0]?.name ?? "readyz").then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), limitMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
