-- Rate limits shared by every web server replica: one GCRA state per key, the
-- theoretical arrival time of the next request. UNLOGGED: a database crash only forgets
-- counters (a fresh window), and writes skip the WAL. Rows whose time has passed are
-- equivalent to absent ones and are purged by the web server every minute.
CREATE UNLOGGED TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat TIMESTAMPTZ NOT NULL
);
CREATE INDEX rate_limits_tat_idx ON rate_limits (tat);

-- API keys may expire; sessions end after a time without use.
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMPTZ;
ALTER TABLE host_sessions ADD COLUMN last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now();
