/**
 * Version 4: replicas (docs/decisions/0013). `replicas` is the live set (heartbeats), `leases`
 * one row per owned unit (a source) with its fencing token, `lease_grants` the history of every
 * token granted, `fenced_writes` one row per (source, token) stamped by every write transaction
 * made under that token (while it holds the lease row), `fence_rejections` the writes refused.
 */
export const sql = `
CREATE TABLE @.replicas (
  id           text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  version      text NOT NULL,
  instance     text NOT NULL,
  lease_ms     integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  draining     boolean NOT NULL DEFAULT false
);
CREATE SEQUENCE @.lease_tokens;
CREATE TABLE @.leases (
  source     text PRIMARY KEY,
  owner      text NOT NULL,
  token      bigint NOT NULL,
  granted_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE TABLE @.lease_grants (
  token          bigint PRIMARY KEY,
  source         text NOT NULL,
  owner          text NOT NULL,
  granted_at     timestamptz NOT NULL,
  previous_owner text,
  previous_token bigint,
  reason         text NOT NULL
);
CREATE INDEX lease_grants_source ON @.lease_grants (source, token);
CREATE TABLE @.fenced_writes (
  source   text NOT NULL,
  token    bigint NOT NULL,
  writes   bigint NOT NULL,
  first_at timestamptz NOT NULL,
  last_at  timestamptz NOT NULL,
  PRIMARY KEY (source, token)
);
CREATE TABLE @.fence_rejections (
  id     bigserial PRIMARY KEY,
  source text NOT NULL,
  token  bigint NOT NULL,
  owner  text NOT NULL,
  at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
`;
