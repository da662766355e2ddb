-- Hosts (the people who run events) and their login sessions.
CREATE TABLE hosts (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively.
CREATE UNIQUE INDEX hosts_email_key ON hosts (lower(email));

CREATE TABLE host_sessions (
    -- SHA-256 of the session cookie value; the cookie itself is never stored.
    token_hash  BYTEA PRIMARY KEY,
    host_id     UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX host_sessions_host_id_idx ON host_sessions (host_id);
