-- Fraud checks an impostor cannot game.

-- Each event's fraud policy: what happens to an answer when the fraud engine cannot
-- score it in time (accept and score later, hold for the host's review, refuse), how
-- readily scores count as risky (the engine's band edges), and shadow mode (score and
-- show, never refuse or hold).
ALTER TABLE events
    ADD COLUMN fraud_on_unavailable TEXT NOT NULL DEFAULT 'accept'
        CHECK (fraud_on_unavailable IN ('accept', 'hold', 'refuse')),
    ADD COLUMN fraud_sensitivity TEXT NOT NULL DEFAULT 'standard'
        CHECK (fraud_sensitivity IN ('relaxed', 'standard', 'strict')),
    ADD COLUMN fraud_shadow BOOLEAN NOT NULL DEFAULT false;

-- A device is stored only as the web server's keyed hash of the browser's fingerprint
-- (HMAC-SHA256 under GUESTGUARD_FINGERPRINT_KEY); values stored before were the
-- browser's own hash, and are dropped, in the log and in events not yet published.
ALTER TABLE access_attempts RENAME COLUMN fingerprint_hash TO device_key;
UPDATE access_attempts SET device_key = NULL WHERE device_key IS NOT NULL;
UPDATE outbox SET payload = payload #- '{signals,fingerprint_hash}'
 WHERE published_at IS NULL AND payload ? 'signals';
ALTER TABLE access_attempts
    -- Signs of automation the page observed.
    ADD COLUMN automation TEXT[] NOT NULL DEFAULT '{}',
    -- Which policy decided an answer (e.g. "strict · shadow", "engine unavailable: hold").
    ADD COLUMN policy TEXT;
CREATE INDEX access_attempts_guest_device_idx ON access_attempts (guest_id, device_key)
    WHERE device_key IS NOT NULL;

-- An answer is confirmed (it counts towards capacity and totals), held for the host's
-- review (it does not count), or rejected by the host.
ALTER TABLE rsvps
    ADD COLUMN status TEXT NOT NULL DEFAULT 'confirmed'
        CHECK (status IN ('confirmed', 'held', 'rejected')),
    ADD COLUMN held_reason TEXT,
    ADD COLUMN reviewed_at TIMESTAMPTZ;
CREATE INDEX rsvps_held_idx ON rsvps (event_id) WHERE status = 'held';

-- What the host decided about a guest's devices (the engine holds the same), and when
-- the engine last forgot what it had learned about the guest.
ALTER TABLE guests
    ADD COLUMN trusted_device_key TEXT,
    ADD COLUMN baseline_reset_at TIMESTAMPTZ;

-- Every decision a host took about a guest: approving a device, resetting what the
-- engine learned, rotating the link, accepting or rejecting a held answer.
CREATE TABLE guest_audit (
    id         UUID PRIMARY KEY,
    guest_id   UUID NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    event_id   UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    host_id    UUID NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX guest_audit_guest_idx ON guest_audit (guest_id, created_at DESC);

-- Retention jobs delete by age.
CREATE INDEX access_attempts_accessed_idx ON access_attempts (accessed_at);
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX host_sessions_expires_idx ON host_sessions (expires_at);
