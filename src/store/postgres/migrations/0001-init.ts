/**
 * Version 1: the tables of every concern. `@.` stands for the schema (`"retrohook".`). Text
 * columns hold JSON where the exact bytes matter (snapshots, event bodies); jsonb where an
 * operator may want to query (resource and source state).
 */
export const sql = `
CREATE TABLE @.meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- Counters that must roll back with their transaction (a dry run uses none up):
-- seq (deliveries and dead letters), eseq (events), wseq (snapshot changes, page marks).
CREATE TABLE @.counters (
  name  text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO @.counters (name, value) VALUES ('seq', 0), ('eseq', 0), ('wseq', 0);

CREATE TABLE @.resource_state (
  source   text NOT NULL,
  resource text NOT NULL,
  state    jsonb NOT NULL,
  PRIMARY KEY (source, resource)
);

CREATE TABLE @.source_state (
  source text PRIMARY KEY,
  state  jsonb NOT NULL
);

CREATE TABLE @.target_state (
  target text PRIMARY KEY,
  state  jsonb NOT NULL
);

CREATE TABLE @.budgets (
  source text PRIMARY KEY,
  period text NOT NULL,
  used   bigint NOT NULL
);

-- One row per record: the live snapshot, or a tombstone (gone). changed_seq is the write
-- sequence of the record's last change (page marks); NULL for a first write or once dropped.
CREATE TABLE @.snapshots (
  source      text NOT NULL,
  resource    text NOT NULL,
  record      text NOT NULL,
  version     integer NOT NULL,
  fingerprint text NOT NULL,
  json        text NOT NULL,
  gone        boolean NOT NULL DEFAULT false,
  changed_seq bigint,
  PRIMARY KEY (source, resource, record)
);
CREATE INDEX snapshots_changed ON @.snapshots (source, resource) WHERE changed_seq IS NOT NULL;

CREATE TABLE @.page_marks (
  source   text NOT NULL,
  resource text NOT NULL,
  digest   text NOT NULL,
  since    bigint NOT NULL,
  PRIMARY KEY (source, resource, digest)
);

CREATE TABLE @.events (
  id         text PRIMARY KEY,
  record_key text NOT NULL,
  n          bigint NOT NULL,
  body       text NOT NULL
);
CREATE INDEX events_record ON @.events (record_key, n);

-- Pending deliveries: in seq order per target, and per (target, record) for claims by key.
CREATE TABLE @.outbox (
  seq             bigint PRIMARY KEY,
  target          text NOT NULL,
  event_id        text NOT NULL,
  record_key      text NOT NULL,
  attempts        integer NOT NULL,
  next_attempt_at bigint NOT NULL,
  last_error      text
);
CREATE INDEX outbox_target ON @.outbox (target, seq);
CREATE INDEX outbox_record ON @.outbox (target, record_key, seq);

CREATE TABLE @.dead_letters (
  seq        bigint PRIMARY KEY,
  target     text NOT NULL,
  event_id   text NOT NULL,
  record_key text NOT NULL,
  letter     jsonb NOT NULL
);
CREATE INDEX dead_letters_target ON @.dead_letters (target, seq);

-- The delivery log: n counts per target (log_counters), so keeping the last N of a target is
-- one range delete on the primary key.
CREATE TABLE @.log_counters (
  target text PRIMARY KEY,
  n      bigint NOT NULL
);
CREATE TABLE @.delivery_log (
  target text NOT NULL,
  n      bigint NOT NULL,
  entry  text NOT NULL,
  PRIMARY KEY (target, n)
);
`;
