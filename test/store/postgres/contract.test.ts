import { describe } from "vitest";
import { postgresForFile } from "../../helpers/postgres.js";
import { stateStoreContract } from "../contract/index.js";

const pgServer = postgresForFile();

describe("StateStore contract on PostgreSQL", () => {
  stateStoreContract({ name: "postgres", freshUrl: async () => pgServer().freshUrl() });
});
