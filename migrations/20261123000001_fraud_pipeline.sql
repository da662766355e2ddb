-- The fraud pipeline: scores on every access attempt (asynchronous, from the engine)
-- and on every RSVP (synchronous, with a fail-open deadline), and a transactional
-- outbox so that events reach NATS JetStream exactly when their state change commits.

-- An access attempt is a link opening ('open') or an RSVP submission ('rsvp').
-- flagged: the score reached the flag threshold. blocked: an RSVP refused for its score
-- (nothing else was recorded).
ALTER TABLE access_attempts
    ADD COLUMN kind    TEXT NOT NULL DEFAULT 'open' CHECK (kind IN ('open', 'rsvp')),
    ADD COLUMN flagged BOOLEAN,
    ADD COLUMN blocked BOOLEAN NOT NULL DEFAULT false,
    -- Why the synchronous score was not used (engine slow, down or failing), if so.
    ADD COLUMN scoring_error TEXT;
CREATE INDEX access_attempts_unscored_idx ON access_attempts (accessed_at) WHERE scored_at IS NULL;

-- The attempt an answer was scored as: a later asynchronous score of an answer that
-- could not be scored in time lands on the answer too.
ALTER TABLE rsvps
    ADD COLUMN access_attempt_id UUID REFERENCES access_attempts (id) ON DELETE SET NULL;
CREATE INDEX rsvps_access_attempt_idx ON rsvps (access_attempt_id);

-- Events waiting to be published. Written in the transaction of the change they
-- describe; the relay publishes due rows with Nats-Msg-Id = id and marks them.
-- available_at delays an access event until the page has had time to send its browser
-- signals (sending them makes it due at once).
CREATE TABLE outbox (
    id           UUID PRIMARY KEY,
    subject      TEXT NOT NULL,
    payload      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    available_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX outbox_due_idx ON outbox (available_at, created_at) WHERE published_at IS NULL;
