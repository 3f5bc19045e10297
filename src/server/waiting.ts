import { createServer, type Server } from "node:http";
import type { ServerConfig } from "../config/types.js";
import { checkServerConfig } from "./listen.js";

/**
 * What `run` serves while it waits for the state database at start: `/healthz` 200 (the
 * process is alive), `/readyz` 503 with `checks.state` false, and 503 for everything else.
 * Closed once the state opens, before the real server binds the same address.
 */
export async function startWaitingServer(config: ServerConfig, reason: () => string): Promise<Server> {
  const address = checkServerConfig(config);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const [status, body] =
      path === "/healthz" ? [200, { status: "ok" }]
      : path === "/readyz" ? [503, { ready: false, checks: { config: true, state: false, scheduler: false }, waiting: reason() }]
      : [503, { error: `starting: ${reason()}` }];
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(`${JSON.stringify(body)}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return server;
}
