/**
 * Version 2: the pass journal (what `explain` reads): one row per pass, numbered per resource;
 * appends trim each resource to its last PASS_HISTORY_LIMIT rows.
 */
export const sql = `
CREATE TABLE @.pass_journal (
  source   text NOT NULL,
  resource text NOT NULL,
  n        bigint NOT NULL,
  entry    text NOT NULL,
  PRIMARY KEY (source, resource, n)
);
`;
