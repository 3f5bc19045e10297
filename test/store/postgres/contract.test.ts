import { afterAll, beforeAll, describe } from "vitest";
import { startTestPostgres, type TestPostgres } from "../../helpers/postgres.js";
import { stateStoreContract } from "../contract/index.js";

let server: TestPostgres;
beforeAll(async () => {
  server = await startTestPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

describe("StateStore contract on PostgreSQL", () => {
  stateStoreContract({ name: "postgres", freshUrl: async () => server.freshUrl() });
});
