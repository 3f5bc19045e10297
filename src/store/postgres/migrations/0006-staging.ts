/**
 * Version 6: what a later pass keeps apart until it ends (docs/decisions/0014): the events it
 * detected (`staged_events`, the enqueue item's JSON, in staging order) and each record's
 * snapshot before the pass first changed it (`snapshot_undo`; `had` false: no row before).
 */
export const sql = `
CREATE TABLE @.staged_events (
  source   text NOT NULL,
  resource text NOT NULL,
  n        bigint NOT NULL,
  item     text NOT NULL,
  PRIMARY KEY (source, resource, n)
);

CREATE TABLE @.snapshot_undo (
  source      text NOT NULL,
  resource    text NOT NULL,
  record      text NOT NULL,
  had         boolean NOT NULL,
  version     integer,
  fingerprint text,
  json        text,
  gone        boolean,
  PRIMARY KEY (source, resource, record)
);
`;
