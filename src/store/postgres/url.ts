import type { PoolConfig } from "pg";
import { StateError } from "../../errors.js";
import { redactStateUrl } from "../url.js";

export interface PostgresTarget {
  /** For `pg.Pool`: host, port, user, password, database, TLS. */
  pool: PoolConfig;
  /** Where the tables live (`?schema=`, default `retrohook`). */
  schema: string;
  /** The URL with its password replaced by `***`. */
  shown: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * `postgres://user:pass@host:5432/db?schema=retrohook&sslmode=verify-full&sslrootcert=/ca.pem`.
 * TLS parameters mean what they mean to `psql` (libpq): `sslmode=require` encrypts without
 * checking the certificate (with `sslrootcert`, it checks the chain), `verify-ca` checks the
 * chain, `verify-full` the chain and the host name; `sslcert`/`sslkey` give a client
 * certificate. Without `sslmode` the connection is not encrypted.
 */
export function parsePostgresUrl(url: string): PostgresTarget {
  const shown = redactStateUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StateError(`state.url ${shown} is not a valid URL: expected postgres://user:password@host:5432/database?schema=retrohook`);
  }
  const schema = parsed.searchParams.get("schema") ?? "retrohook";
  if (!SCHEMA_NAME.test(schema)) {
    throw new StateError(`state.url ${shown}: schema "${schema}" must be lower-case letters, digits and _ (not starting with a digit)`);
  }
  parsed.searchParams.delete("schema");
  if (!parsed.pathname || parsed.pathname === "/") throw new StateError(`state.url ${shown} names no database: postgres://user:password@host:5432/DATABASE`);
  // pg reads the TLS parameters with libpq's meanings when asked to.
  if (!parsed.searchParams.has("uselibpqcompat")) parsed.searchParams.set("uselibpqcompat", "true");
  if (!parsed.searchParams.has("application_name")) parsed.searchParams.set("application_name", "retrohook");
  return { pool: { connectionString: parsed.toString() }, schema, shown };
}
