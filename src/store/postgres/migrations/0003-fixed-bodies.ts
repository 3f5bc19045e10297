/**
 * Version 3: what a target's filter and transform fixed for an event (`body`: the transformed
 * body, or "" when a filter passed and the target's format makes the body). Kept apart from
 * the outbox so a retry and a replay of the delivery find it (docs/decisions/0012).
 */
export const sql = `
CREATE TABLE @.fixed_bodies (
  event_id text NOT NULL,
  target   text NOT NULL,
  body     text NOT NULL,
  PRIMARY KEY (event_id, target)
);
`;
