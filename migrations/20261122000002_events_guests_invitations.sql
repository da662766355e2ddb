-- API keys for the REST API. Only a SHA-256 of the key is stored; `prefix` (the first
-- characters) lets a host recognise a key in the list.
CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    host_id      UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       TEXT NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_keys_host_id_idx ON api_keys (host_id);

-- Events belong to one host; every query is scoped by host_id.
CREATE TABLE events (
    id                    UUID PRIMARY KEY,
    host_id               UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    slug                  TEXT NOT NULL,
    starts_at             TIMESTAMPTZ NOT NULL,
    time_zone             TEXT NOT NULL,
    venue                 TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    capacity              INTEGER CHECK (capacity > 0),
    rsvp_deadline         TIMESTAMPTZ,
    default_max_plus_ones INTEGER NOT NULL DEFAULT 0 CHECK (default_max_plus_ones BETWEEN 0 AND 20),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (host_id, slug)
);

CREATE TABLE guests (
    id            UUID PRIMARY KEY,
    event_id      UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    host_id       UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    email         TEXT,
    phone         TEXT,
    -- NULL: the event's default applies.
    max_plus_ones INTEGER CHECK (max_plus_ones BETWEEN 0 AND 20),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX guests_event_id_idx ON guests (event_id);
CREATE UNIQUE INDEX guests_event_email_key ON guests (event_id, lower(email)) WHERE email IS NOT NULL;

-- Invitation tokens. The raw token is never stored: only its SHA-256. A token is
-- "used" once its guest has responded; revoked and expired tokens stop working.
CREATE TABLE invitations (
    id         UUID PRIMARY KEY,
    guest_id   UUID NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    event_id   UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    host_id    UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    key_id     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
CREATE INDEX invitations_guest_id_idx ON invitations (guest_id);

-- One response per guest (the unique guest_id makes double submissions update, never
-- duplicate). risk_* come from the fraud engine.
CREATE TABLE rsvps (
    id            UUID PRIMARY KEY,
    guest_id      UUID NOT NULL UNIQUE REFERENCES guests (id) ON DELETE CASCADE,
    event_id      UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    invitation_id UUID NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    response      TEXT NOT NULL CHECK (response IN ('attending', 'declined', 'maybe')),
    plus_ones     INTEGER NOT NULL DEFAULT 0 CHECK (plus_ones BETWEEN 0 AND 20),
    note          TEXT NOT NULL DEFAULT '',
    risk_score    INTEGER CHECK (risk_score BETWEEN 0 AND 100),
    risk          TEXT CHECK (risk IN ('low', 'medium', 'high', 'block')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX rsvps_event_id_idx ON rsvps (event_id);

-- Every opening of an invitation link.
CREATE TABLE access_attempts (
    id               UUID PRIMARY KEY,
    invitation_id    UUID NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    guest_id         UUID NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    event_id         UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    host_id          UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    accessed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    ip               INET,
    user_agent       TEXT NOT NULL DEFAULT '',
    accept_language  TEXT NOT NULL DEFAULT '',
    -- Browser signals sent by the hydrated page (NULL until it reports).
    fingerprint_hash TEXT,
    time_zone        TEXT,
    screen           TEXT,
    js_enabled       BOOLEAN NOT NULL DEFAULT false,
    risk_score       INTEGER CHECK (risk_score BETWEEN 0 AND 100),
    risk             TEXT CHECK (risk IN ('low', 'medium', 'high', 'block')),
    reasons          TEXT[] NOT NULL DEFAULT '{}',
    scored_at        TIMESTAMPTZ
);
CREATE INDEX access_attempts_guest_idx ON access_attempts (guest_id, accessed_at DESC);
CREATE INDEX access_attempts_event_idx ON access_attempts (event_id, accessed_at DESC);
