import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { openStateStore } from "../../src/store/open.js";
import { passRunner, restResource, restSource } from "../helpers/pass-harness.js";
import { loadedSource } from "../helpers/source-config.js";
import type { RestSourceConfig } from "../../src/config/types.js";

/**
 * #27 item 9: a 49 MB page took RSS to ~780 MB (a page costs ~15 times its size while parsed)
 * and stalled the event loop for seconds, under the 50 MB default of `max_response_bytes`. The
 * default is 8 MB now, a larger body is cut off while it downloads, and the error says to lower
 * the page size (`pagination.size`) or raise the limit. RSS is measured by `npm run chaos`
 * (hardening suite, "page size cap"), not here.
 */

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** One page of `count` records of ~1 KB each (`GET /items`). */
async function startBigPage(count: number): Promise<{ url: string; bodyBytes: number }> {
  const filler = "x".repeat(1000);
  const body = Buffer.from(JSON.stringify(Array.from({ length: count }, (_, i) => ({ id: i + 1, note: filler }))));
  const server: Server = createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.setHeader("content-length", body.length);
    // In 64 KB writes, so a client that stops reading stops the sending too.
    let at = 0;
    const pump = (): void => {
      while (at < body.length) {
        const chunk = body.subarray(at, at + 65_536);
        at += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    res.on("close", () => (at = body.length));
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodyBytes: body.length };
}

describe("memory per page", () => {
  it("the default max_response_bytes is 8 MB", () => {
    const source = loadedSource<RestSourceConfig>({ name: "legacy", type: "rest", base_url: "http://127.0.0.1:9", resources: [{ name: "items", path: "/items" }] });
    expect(source.max_response_bytes).toBe(8 * 1024 * 1024);
  });

  it("a 12 MB page fails the pass under the default, naming pagination.size and max_response_bytes", async () => {
    const api = await startBigPage(12_000);
    expect(api.bodyBytes).toBeGreaterThan(12_000_000);
    const store = await openStateStore("sqlite::memory:");
    cleanup.push(() => store.close());
    const runner = passRunner(() => store, restSource(api.url, "t", [restResource({ pagination: { style: "none" } })], {}));
    const outcome = (await runner.pass("reconcile")).outcomes[0]!;
    expect(outcome.ok).toBe(false);
    expect(outcome.cause).toBe("too-large");
    expect(outcome.error).toMatch(/response larger than max_response_bytes \(8388608\)/);
    expect(outcome.error).toMatch(/lower pagination\.size/);
    expect(outcome.error).toMatch(/raise max_response_bytes/);
    expect(await store.countSnapshots({ source: "legacy", resource: "items" })).toBe(0);
  }, 30_000);
});
