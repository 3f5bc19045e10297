import { join } from "node:path";
import Database from "better-sqlite3";
import { describe } from "vitest";
import { tempDir } from "../../helpers/tmp.js";
import { stateStoreContract } from "../contract/index.js";

describe("StateStore contract on SQLite", () => {
  stateStoreContract({
    name: "sqlite",
    freshUrl: async () => `sqlite://${join(tempDir(), "state.sqlite")}`,
    async refuseLogEntries(url, marker) {
      const db = new Database(url.slice("sqlite://".length));
      try {
        db.exec(`CREATE TRIGGER refuse_log BEFORE INSERT ON kv WHEN new.key LIKE 'l/%' AND instr(new.value, '${marker}') > 0 BEGIN SELECT RAISE(ABORT, 'log entry refused'); END`);
      } finally {
        db.close();
      }
    },
  });
});
