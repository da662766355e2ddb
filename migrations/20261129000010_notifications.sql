-- Notifications (email, SMS) and signed webhooks, delivered by the notification worker.

-- The language guests' emails are written in, and when the reminder goes out: so many
-- hours before the RSVP deadline (or the start, without one); no reminder when NULL.
ALTER TABLE events
    ADD COLUMN language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'fr', 'es', 'de')),
    ADD COLUMN reminder_hours INTEGER CHECK (reminder_hours BETWEEN 1 AND 720),
    ADD COLUMN reminders_queued_at TIMESTAMPTZ;
CREATE INDEX events_reminders_due_idx ON events (coalesce(rsvp_deadline, starts_at))
    WHERE reminder_hours IS NOT NULL AND reminders_queued_at IS NULL;

-- A guest who followed a reminder's unsubscribe link gets no more reminders.
ALTER TABLE guests ADD COLUMN reminders_unsubscribed_at TIMESTAMPTZ;

-- What a host is told by email.
ALTER TABLE hosts
    ADD COLUMN notify_rsvps BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN notify_fraud BOOLEAN NOT NULL DEFAULT true;

-- When the guest's answer first counted: `rsvp.created` then, `rsvp.changed` after.
ALTER TABLE rsvps ADD COLUMN first_confirmed_at TIMESTAMPTZ;
UPDATE rsvps SET first_confirmed_at = created_at WHERE status = 'confirmed';

-- Receivers of signed webhooks: an account's (event_id NULL) or one event's. The secret
-- is never stored: it is derived from GUESTGUARD_WEBHOOK_KEY, the id and the version;
-- rotating bumps the version and keeps the previous secret valid for a while.
CREATE TABLE webhooks (
    id                    UUID PRIMARY KEY,
    host_id               UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    event_id              UUID REFERENCES events (id) ON DELETE CASCADE,
    url                   TEXT NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
    description           TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    event_types           TEXT[] NOT NULL CHECK (cardinality(event_types) > 0),
    secret_version        INTEGER NOT NULL DEFAULT 1,
    previous_valid_until  TIMESTAMPTZ,
    enabled               BOOLEAN NOT NULL DEFAULT true,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_host_idx ON webhooks (host_id);

-- Every message sent or to send. `dedupe_key` names what it is about (an answer, a
-- scored opening, an invitation request), so an event delivered twice queues it once.
CREATE TABLE notifications (
    id                  UUID PRIMARY KEY,
    host_id             UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    event_id            UUID REFERENCES events (id) ON DELETE CASCADE,
    guest_id            UUID REFERENCES guests (id) ON DELETE CASCADE,
    webhook_id          UUID REFERENCES webhooks (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder', 'confirmation',
                                                      'host_rsvp', 'host_held', 'fraud_alert',
                                                      'webhook')),
    channel             TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    -- The address, phone number or URL it goes to.
    recipient           TEXT NOT NULL,
    dedupe_key          TEXT NOT NULL UNIQUE,
    payload             JSONB NOT NULL DEFAULT '{}',
    status              TEXT NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    max_attempts        INTEGER NOT NULL CHECK (max_attempts > 0),
    next_attempt_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    provider_message_id TEXT,
    last_error          TEXT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at             TIMESTAMPTZ
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at)
    WHERE status IN ('queued', 'sending');
CREATE INDEX notifications_event_idx ON notifications (event_id, created_at DESC);
CREATE INDEX notifications_guest_idx ON notifications (guest_id, created_at DESC);
CREATE INDEX notifications_webhook_idx ON notifications (webhook_id, created_at DESC);

-- One row per try: the delivery log.
CREATE TABLE notification_attempts (
    id              BIGSERIAL PRIMARY KEY,
    notification_id UUID NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempt         INTEGER NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    duration_ms     INTEGER NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
    status_code     INTEGER,
    error           TEXT
);
CREATE INDEX notification_attempts_idx ON notification_attempts (notification_id, attempt);
