import { describe } from "vitest";
import { SECRET, targetConfig } from "../delivery/harness.js";
import { closedPortUrl } from "../helpers/brokers.js";
import { startReceiver, type ReceivedRequest } from "../helpers/receiver.js";
import { targetContract, type Kit } from "./contract.js";

/** HTTP through the same contract as the brokers: a receiver stands for the broker. */
async function httpKit(): Promise<Kit> {
  const rx = await startReceiver();
  const dead = await startReceiver({ status: 422, body: "no such invoice here" });
  const token = "http-Secret-Token-42";
  const closed = await closedPortUrl(`${rx.url}hooks?token=${token}`);
  const flatten = (request: ReceivedRequest): Record<string, string> =>
    Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, Array.isArray(value) ? value.join(", ") : String(value)]));
  return {
    password: token,
    target: (name) => ({ ...targetConfig(rx.url, { name, secret: SECRET }), timeout: 3_000 }),
    downTarget: (name) => ({ ...targetConfig(closed, { name, secret: SECRET }), timeout: 3_000 }),
    deadTarget: (name) => ({ ...targetConfig(dead.url, { name, secret: SECRET }), timeout: 3_000 }),
    received: () =>
      Promise.resolve(
        rx.requests
          .filter((request) => !request.body.includes("retrohook.test"))
          .map((request) => ({ id: String(request.headers["webhook-id"]), headers: flatten(request), body: request.body })),
      ),
    breakIt: () => Promise.resolve(rx.reply({ status: 503, body: "restarting" })),
    heal: () => Promise.resolve(rx.reply({ status: 200, body: "ok" })),
    async close() {
      await rx.close();
      await dead.close();
    },
  };
}

describe("http", () => targetContract("http", httpKit));
