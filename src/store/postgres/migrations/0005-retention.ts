/**
 * Version 5: what retention needs (docs/decisions/0015): events in detection order, and the
 * pending deliveries and dead letters that keep an event, found by its id.
 */
export const sql = `
CREATE INDEX events_n ON @.events (n);
CREATE INDEX outbox_event ON @.outbox (event_id);
CREATE INDEX dead_letters_event ON @.dead_letters (event_id);
`;
