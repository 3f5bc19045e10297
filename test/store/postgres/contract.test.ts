import { describe } from "vitest";
import { postgresForFile, sql } from "../../helpers/postgres.js";
import { stateStoreContract } from "../contract/index.js";

const pgServer = postgresForFile();

describe("StateStore contract on PostgreSQL", () => {
  stateStoreContract({
    name: "postgres",
    freshUrl: async () => pgServer().freshUrl(),
    async refuseLogEntries(url, marker) {
      const schema = new URL(url).searchParams.get("schema") ?? "public";
      await sql(url, `CREATE FUNCTION "${schema}".refuse_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF position('${marker}' in NEW.entry) > 0 THEN RAISE EXCEPTION 'log entry refused'; END IF; RETURN NEW; END $$`);
      await sql(url, `CREATE TRIGGER refuse_log BEFORE INSERT ON "${schema}".delivery_log FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_log()`);
    },
  });
});
