import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../../helpers/cli.js";
import { writeConfig } from "../../../helpers/config-file.js";
import { startReceiver, verifySignature, type Receiver } from "../../../helpers/receiver.js";
import { startWfirmaFake, type WfirmaFake } from "../../../fakes/wfirma/fake.js";
import { changeOfEveryKind } from "./harness.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ENV = { WFIRMA_ACCESS_KEY: "ak-4711", WFIRMA_SECRET_KEY: "sk-SECRET-0815", WFIRMA_APP_KEY: "app-4242" };

let fake: WfirmaFake;
let receiver: Receiver;

beforeEach(async () => {
  fake = await startWfirmaFake({ accessKey: ENV.WFIRMA_ACCESS_KEY, secretKey: ENV.WFIRMA_SECRET_KEY, appKey: ENV.WFIRMA_APP_KEY, companies: ["1", "77"] });
  receiver = await startReceiver();
});
afterEach(async () => {
  await fake.close();
  await receiver.close();
});

function config() {
  return writeConfig({
    sources: [
      {
        name: "wfirma",
        preset: "wfirma",
        base_url: fake.url,
        access_key: "${WFIRMA_ACCESS_KEY}",
        secret_key: "${WFIRMA_SECRET_KEY}",
        app_key: "${WFIRMA_APP_KEY}",
        company_id: 77,
      },
    ],
    targets: [{ name: "erp", url: receiver.url, secret: SECRET }],
  });
}

/** The events the receiver got since `from`, signatures verified with standardwebhooks. */
function received(from: number): string[] {
  return receiver.requests.slice(from).map((request) => {
    verifySignature(request, SECRET);
    const body = JSON.parse(request.body) as { type: string; record_id: string; kind: string | null };
    return `${body.type}:${body.record_id}${body.kind ? `/${body.kind}` : ""}`;
  }).sort();
}

describe("wfirma through the CLI", () => {
  it("a new expense, an expense paid, new WZ and PZ documents, an edited contractor, a payment and a deleted expense each yield exactly their events", async () => {
    const contractor = fake.create("contractors");
    const invoice = fake.create("invoices");
    const unpaid = fake.create("expenses");
    const doomed = fake.create("expenses");
    fake.create("goods");
    const { path } = config();

    const baseline = await runCli(["once", "-c", path], ENV);
    expect(baseline.code, baseline.stderr).toBe(0);
    expect(receiver.requests).toHaveLength(0);
    expect(fake.requests.every((r) => r.query.includes("company_id=77"))).toBe(true);

    const expected = changeOfEveryKind(fake, { contractor, invoice, unpaid }, { email: "new@example.pl" });

    const changes = await runCli(["once", "-c", path], ENV);
    expect(changes.code, changes.stderr).toBe(0);
    expect(received(0)).toEqual(expected);
    for (const secret of Object.values(ENV)) expect(changes.stderr).not.toContain(secret);

    const delivered = receiver.requests.length;
    fake.remove("expenses", String(doomed.id));
    const reconcile = await runCli(["once", "--reconcile", "-c", path], ENV);
    expect(reconcile.code, reconcile.stderr).toBe(0);
    expect(received(delivered)).toEqual([`cost_invoice.deleted:${doomed.id}`]);
    expect(JSON.parse(receiver.requests.at(-1)!.body).data.object).toMatchObject({ id: String(doomed.id), fullnumber: doomed.fullnumber });
  });

  it("after AUTH FAILED LIMIT, another once within 5 minutes makes no request and exits 1 saying when it will try again", async () => {
    fake.create("invoices");
    const { path } = config();
    expect((await runCli(["once", "-c", path], ENV)).code).toBe(0);

    fake.setStatus("AUTH FAILED LIMIT WAIT 5 MINUTES", { times: 1 });
    const locked = await runCli(["once", "-c", path], ENV);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/AUTH FAILED LIMIT WAIT 5 MINUTES/);
    expect(locked.stderr).toMatch(/check access_key, secret_key and app_key/);

    const count = fake.requests.length;
    const again = await runCli(["once", "-c", path], { ...ENV, RETROHOOK_TEST_CLOCK_OFFSET_MS: String(4 * 60_000) });
    expect(again.code).toBe(1);
    expect(fake.requests.length).toBe(count);
    const until = /backing off until (\d{4}-\d{2}-\d{2}T[\d:.]+Z)/.exec(again.stderr)?.[1];
    expect(until, again.stderr).toBeDefined();
    expect(Date.parse(until!) - Date.now()).toBeGreaterThan(4 * 60_000 - 60_000);

    const later = await runCli(["once", "-c", path], { ...ENV, RETROHOOK_TEST_CLOCK_OFFSET_MS: String(6 * 60_000) });
    expect(later.code, later.stderr).toBe(0);
    expect(fake.requests.length).toBeGreaterThan(count);
  });

  it("wrong keys suspend the source (exit 1) without leaking them", async () => {
    const { path } = config();
    const result = await runCli(["once", "-c", path], { ...ENV, WFIRMA_SECRET_KEY: "sk-WRONG-9999" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/wFirma answered "AUTH"/);
    expect(result.stderr).not.toContain("sk-WRONG-9999");
    const count = fake.requests.length;
    expect(count).toBe(1);
    const again = await runCli(["once", "-c", path], { ...ENV, WFIRMA_SECRET_KEY: "sk-WRONG-9999" });
    expect(again.stderr).toMatch(/source suspended/);
    expect(fake.requests.length).toBe(count);
  });
});

describe("wfirma OAuth 2 through the CLI", () => {
  it("two `once` processes: the second refreshes with the refresh token the first stored, not the spent one from the config; no token in any output", async () => {
    const app = { WFIRMA_CLIENT_ID: "wf-app-3131", WFIRMA_CLIENT_SECRET: "SECRET-wf-app-9898", WFIRMA_REFRESH_TOKEN: "SECRET-wf-refresh-first-4545" };
    const oauth = await startWfirmaFake({ oauth: { clientId: app.WFIRMA_CLIENT_ID, clientSecret: app.WFIRMA_CLIENT_SECRET, refreshToken: app.WFIRMA_REFRESH_TOKEN } });
    try {
      const { path } = writeConfig({
        sources: [{ name: "wf", preset: "wfirma", base_url: oauth.url, oauth_refresh_token: "${WFIRMA_REFRESH_TOKEN}", client_id: "${WFIRMA_CLIENT_ID}", client_secret: "${WFIRMA_CLIENT_SECRET}", resources: ["clients"] }],
        targets: [{ name: "erp", url: receiver.url, secret: SECRET }],
      });
      const env = { ...app, RETROHOOK_LOG_LEVEL: "debug" };
      const client = oauth.create("contractors");
      const first = await runCli(["once", "-c", path], env);
      expect(first.code, first.stderr).toBe(0);
      oauth.update("contractors", String(client.id), { name: "renamed" });
      const second = await runCli(["once", "-c", path], env);
      expect(second.code, second.stderr).toBe(0);
      expect(received(0)).toEqual([`client.updated:${client.id}`]);
      expect(oauth.oauthRequests()).toBe(2);
      const status = await runCli(["status", "-c", path], env);
      const output = [first.stdout, first.stderr, second.stdout, second.stderr, status.stdout, status.stderr].join("\n");
      for (const value of [app.WFIRMA_CLIENT_SECRET, app.WFIRMA_REFRESH_TOKEN, oauth.currentRefreshToken()!, ...oauth.issuedAccessTokens()]) expect(output).not.toContain(value);
    } finally {
      await oauth.close();
    }
  }, 120_000);
});
