import { sql as init } from "./0001-init.js";
import { sql as passJournal } from "./0002-pass-journal.js";
import { sql as fixedBodies } from "./0003-fixed-bodies.js";
import { sql as replicas } from "./0004-replicas.js";
import { sql as retention } from "./0005-retention.js";
import { sql as staging } from "./0006-staging.js";

/**
 * The schema's versions, oldest first; each is applied once, in its own transaction, and
 * recorded in `schema_migrations`. Never edit one that shipped: add the next. `@.` in the SQL
 * stands for the configured schema.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  { version: 1, name: "init", sql: init },
  { version: 2, name: "pass-journal", sql: passJournal },
  { version: 3, name: "fixed-bodies", sql: fixedBodies },
  { version: 4, name: "replicas", sql: replicas },
  { version: 5, name: "retention", sql: retention },
  { version: 6, name: "staging", sql: staging },
];
