import { join } from "node:path";
import { describe } from "vitest";
import { tempDir } from "../../helpers/tmp.js";
import { stateStoreContract } from "../contract/index.js";

describe("StateStore contract on SQLite", () => {
  stateStoreContract({ name: "sqlite", freshUrl: async () => `sqlite://${join(tempDir(), "state.sqlite")}` });
});
