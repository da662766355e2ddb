-- Outbox rows that cannot be published (a subject the stream does not take, a payload
-- over NATS's limit) are parked after a bounded number of tries, so they no longer
-- hold up the rows behind them. `attempts` counts the tries that failed because of the
-- row itself (and the successful one); `last_error` says why the last one failed.
-- A parked row stays until an operator releases it (parked_at = NULL) or deletes it.
ALTER TABLE outbox ADD COLUMN parked_at TIMESTAMPTZ;
COMMENT ON COLUMN outbox.parked_at IS
    'when the relay gave up publishing the row (see last_error); NULL while it is still tried';
COMMENT ON COLUMN outbox.attempts IS
    'tries of the relay that failed because of this row, plus the one that published it';
CREATE INDEX outbox_parked_idx ON outbox (parked_at) WHERE parked_at IS NOT NULL;
