import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { restSourceYaml, writeConfig } from "../helpers/config-file.js";
import { startFakeRest } from "../helpers/fake-rest.js";
import { startReceiver } from "../helpers/receiver.js";
import { eventually, NEVER, startDaemon } from "./harness.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const ADMIN_TOKEN = "ADMIN-TOKEN-31337-zq-Vx8Qm2ZtR7pL0xW5nB8cH1sD4fG6j";

describe("admin token", () => {
  it("`run` refuses a non-loopback listen address without admin_token: exit 2, nothing opened", async () => {
    const api = await startFakeRest();
    cleanup.push(() => api.close());
    const { path, dir } = writeConfig({ server: { listen: "0.0.0.0:0" }, sources: [restSourceYaml(api.url, api.token)], targets: [] });
    const result = await runCli(["run", "-c", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/server\.listen is "0\.0\.0\.0:0", which is reachable from other machines: set server\.admin_token/);
    expect(existsSync(join(dir, "data", "state.sqlite"))).toBe(false);
    expect(api.requests).toHaveLength(0);
  });

  it("with a token off loopback, a wrong or missing token gets 401 and nothing happens", async () => {
    const api = await startFakeRest();
    const erp = await startReceiver();
    cleanup.push(() => api.close(), () => erp.close());
    api.create();
    const daemon = await startDaemon({
      server: { listen: "0.0.0.0:0", admin_token: ADMIN_TOKEN },
      sources: [restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill" })],
      targets: [{ name: "erp", url: erp.url }],
    });
    cleanup.push(() => daemon.stop());
    await erp.waitFor(1);
    const listRequests = api.listRequests();

    for (const token of [undefined, "wrong-token", `${ADMIN_TOKEN}x`]) {
      const status = await daemon.api("GET", "/api/status", undefined, token);
      expect(status.status).toBe(401);
      expect(status.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await daemon.api("POST", "/api/targets/erp/pause", {}, token)).status).toBe(401);
      expect((await daemon.api("POST", "/api/targets/erp/test", {}, token)).status).toBe(401);
      expect((await daemon.api("POST", "/api/sources/legacy/pass", { wait: true }, token)).status).toBe(401);
      expect((await daemon.api("POST", "/api/sources/legacy/reset", {}, token)).status).toBe(401);
      expect((await daemon.api("POST", "/api/dead-letters/replay", {}, token)).status).toBe(401);
      expect((await daemon.api("GET", "/ui/app.js", undefined, token)).status).toBe(401);
    }
    expect(erp.requests).toHaveLength(1);
    expect(api.listRequests()).toBe(listRequests);
    expect(await daemon.app.store.getTargetState("erp")).toBeUndefined();
    expect((await daemon.app.store.getResourceState({ source: "legacy", resource: "items" }))?.initialized).toBe(true);

    // The browser gets a sign-in form instead of the UI; the session cookie is not the token.
    const page = await fetch(`${daemon.url}/`);
    expect(page.status).toBe(401);
    expect(await page.text()).toMatch(/<form class="login" method="post" action="\/login">/);
    const refused = await fetch(`${daemon.url}/login`, { method: "POST", body: new URLSearchParams({ token: "nope" }), redirect: "manual" });
    expect(refused.status).toBe(401);
    const signIn = await fetch(`${daemon.url}/login`, { method: "POST", body: new URLSearchParams({ token: ADMIN_TOKEN }), redirect: "manual" });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
    expect(cookie).toMatch(/^retrohook_session=/);
    expect(cookie).not.toContain(ADMIN_TOKEN);
    expect((await fetch(`${daemon.url}/`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${daemon.url}/api/status`, { headers: { cookie } })).status).toBe(200);
    const crossSite = await fetch(`${daemon.url}/api/targets/erp/pause`, { method: "POST", headers: { cookie, origin: "http://evil.example", "content-type": "application/json" }, body: "{}" });
    expect(crossSite.status).toBe(403);
    expect(await daemon.app.store.getTargetState("erp")).toBeUndefined();

    expect(await daemon.api("GET", "/api/status", undefined, ADMIN_TOKEN)).toMatchObject({ status: 200 });
    expect(await daemon.api("POST", "/api/targets/erp/pause", {}, ADMIN_TOKEN)).toMatchObject({ status: 200, body: { health: "paused" } });
  });
});

describe("secrets", () => {
  it("never appear in any API response, metric or page", async () => {
    /** Every secret the config holds, each where it belongs. */
    const SECRET = {
      source: "SRC-TOKEN-7f3a9c0d",
      query: "QUERY-TOKEN-4242abc",
      signing: "whsec_U0VDUkVULVNJR05JTkctS0VZLTk5OTk=",
      header: "HDRKEY-5150xyz",
      url: "URLTOKEN-8086def",
      targetApi: "FKT-TARGET-TOKEN-88zz",
    };
    // The signing key without its prefix, and the admin token, must not show either.
    const secrets = [...Object.values(SECRET), SECRET.signing.slice(6), ADMIN_TOKEN];

    const api = await startFakeRest({ token: SECRET.source });
    const signed = await startReceiver();
    // Echoes what it got: the `fakturownia` format carries the target's own api_token.
    const echo = await startReceiver();
    echo.respond((request) => ({ status: 400, body: request.body }));
    cleanup.push(() => api.close(), () => signed.close(), () => echo.close());
    api.create();
    const echoUrl = new URL(echo.url);
    const daemon = await startDaemon({
      server: { listen: "127.0.0.1:0", admin_token: ADMIN_TOKEN },
      sources: [
        restSourceYaml(api.url, api.token, { schedule: NEVER, reconcile: NEVER, start: "backfill", query: { api_token: SECRET.query } }),
        restSourceYaml(`${api.url}/missing`, api.token, { name: "broken", schedule: NEVER, reconcile: NEVER, query: { api_token: SECRET.query } }),
      ],
      targets: [
        { name: "signed", url: signed.url, secret: SECRET.signing },
        { name: "echo", url: `http://${echoUrl.host}${echoUrl.pathname}?api_token=${SECRET.url}`, headers: { "X-Api-Key": SECRET.header }, format: "fakturownia", api_token: SECRET.targetApi },
      ],
    });
    cleanup.push(() => daemon.stop());
    await signed.waitFor(1);
    await eventually(async () => (await daemon.app.store.listDeadLetters("echo")).length === 1, "the echo dead letter");
    expect(echo.requests[0]!.body).toContain(SECRET.targetApi);
    const broken = await daemon.app.store.getResourceState({ source: "broken", resource: "items" });
    expect(broken?.lastError).toBeDefined();

    const texts: Array<[string, string]> = [];
    const get = async (path: string, token: string | undefined = ADMIN_TOKEN) => {
      const response = await daemon.api("GET", path, undefined, token);
      texts.push([`GET ${path}`, response.text]);
      return response;
    };
    const post = async (path: string, body: unknown = {}) => {
      const response = await daemon.api("POST", path, body, ADMIN_TOKEN);
      texts.push([`POST ${path}`, response.text]);
      return response;
    };
    const status = await get("/api/status");
    expect(status.status).toBe(200);
    const dead = (await get("/api/dead-letters")).body as Array<{ eventId: string; response: { body: string } }>;
    expect(dead[0]!.response.body).toContain("***");
    for (const path of ["/api", "/api/sources", "/api/sources/broken", "/api/targets", "/api/targets/echo", "/api/log", "/api/log?target=echo", `/api/events/${dead[0]!.eventId}`, "/api/records?source=legacy&resource=items&id=1", "/metrics", "/healthz", "/readyz", "/", "/ui/app.js", "/ui/app.css"]) {
      expect((await get(path)).status, path).toBe(200);
    }
    await get("/", undefined);
    await get("/api/status", "wrong");
    await get("/api/nope");
    await post("/api/targets/echo/test");
    await post("/api/targets/signed/test");
    await post("/api/targets/echo/pause", { reason: "checking" });
    await post("/api/targets/echo/resume");
    await post(`/api/events/${dead[0]!.eventId}/replay`, { target: "echo" });
    await post("/api/sources/broken/pass", { wait: true });
    await post("/api/targets/nope/test");
    await eventually(async () => echo.requests.length >= 3, "the replay");
    texts.push(["GET /api/dead-letters after replay", (await daemon.api("GET", "/api/dead-letters", undefined, ADMIN_TOKEN)).text]);
    texts.push(["GET /api/log after replay", (await daemon.api("GET", "/api/log", undefined, ADMIN_TOKEN)).text]);

    for (const [what, text] of texts) {
      for (const secret of secrets) expect(text.includes(secret), `${what} contains ${secret}`).toBe(false);
    }
    // The responses do carry what an operator needs: the target's origin (its path may hold a token).
    expect(JSON.stringify(status.body)).toContain(`http://${echoUrl.host}/…`);
    expect(texts.find(([what]) => what === "GET /api/sources/broken")![1]).toMatch(/HTTP 404/);
  });
});
