-- Notifications: a transactional outbox. A notice is written in the same transaction as the
-- change or detection that causes it; one delivery row per outside channel (e-mail, webhook)
-- is picked up by a worker in every instance (FOR UPDATE SKIP LOCKED), retried with backoff
-- and kept, delivered or failed, for inspection. In-app notices are the notice rows themselves.

CREATE TABLE notices (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('expiry_digest', 'new_client_ip', 'usage_alert',
                         'key_exposed_revoked', 'wallet_unlinked', 'api_keys_disabled', 'webhook_test')),
    key_id           uuid,
    idempotency_key  text NOT NULL UNIQUE CHECK (length(idempotency_key) <= 200),
    payload          jsonb NOT NULL DEFAULT '{}',
    in_app           boolean NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    dismissed_at     timestamptz
);
CREATE INDEX notices_unread_idx ON notices (account_id, created_at DESC)
    WHERE in_app AND dismissed_at IS NULL;
CREATE INDEX notices_created_idx ON notices (created_at);
CREATE INDEX notices_key_idx ON notices (key_id, created_at) WHERE key_id IS NOT NULL;
COMMENT ON TABLE notices IS 'Something an account should hear about; the source of every delivery. Kept 90 days (then pruned with its deliveries, unless one is still pending).';
COMMENT ON COLUMN notices.id IS 'Stable id: the webhook-id and e-mail Message-ID, so receivers can drop a re-sent copy.';
COMMENT ON COLUMN notices.key_id IS 'Public id of the key concerned; no foreign key, the notice outlives a deleted key.';
COMMENT ON COLUMN notices.idempotency_key IS 'Names the condition (kind, subject, period): detecting it twice makes one notice.';
COMMENT ON COLUMN notices.payload IS 'Non-secret details (key names, prefixes, addresses, counts). Never a secret.';
COMMENT ON COLUMN notices.in_app IS 'Shown on the keys page (the account''s preference when the notice was made).';
COMMENT ON COLUMN notices.dismissed_at IS 'Set when the user dismissed the in-app notice.';

CREATE TABLE notice_deliveries (
    id               bigserial PRIMARY KEY,
    notice_id        uuid NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('email', 'webhook')),
    status           text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text CHECK (length(last_error) <= 500),
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (notice_id, channel)
);
CREATE INDEX notice_deliveries_due_idx ON notice_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notice_deliveries_status_idx ON notice_deliveries (status, created_at DESC);
COMMENT ON TABLE notice_deliveries IS 'The outbox: one row per notice and outside channel.';
COMMENT ON COLUMN notice_deliveries.attempts IS 'Attempts started; after the bound the row is failed and kept.';
COMMENT ON COLUMN notice_deliveries.next_attempt_at IS 'Due time; a claimed row is pushed forward by a lease, so a crashed sender''s row comes back.';
COMMENT ON COLUMN notice_deliveries.status IS 'pending, delivered, failed (attempts used up) or skipped (channel not set up).';
COMMENT ON COLUMN notice_deliveries.last_error IS 'Why the last attempt failed (no secret, cut to 500 characters).';

CREATE TABLE notification_preferences (
    account_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event       text NOT NULL CHECK (event IN ('expiry', 'new_address', 'usage_alert', 'security')),
    channel     text NOT NULL CHECK (channel IN ('email', 'webhook', 'in_app')),
    enabled     boolean NOT NULL,
    PRIMARY KEY (account_id, event, channel)
);
COMMENT ON TABLE notification_preferences IS 'Per-user switches per event type and channel; a missing row means the default.';

CREATE TABLE webhook_endpoints (
    account_id  uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    url         text NOT NULL CHECK (length(url) <= 2048),
    secret      bytea NOT NULL CHECK (length(secret) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE webhook_endpoints IS 'One signed-webhook destination per account.';
COMMENT ON COLUMN webhook_endpoints.secret IS 'HMAC signing key (Standard Webhooks). Stored because every delivery must be signed with it; shown to the user once, never logged.';

CREATE TABLE expiry_reminders (
    key_id      uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    milestone   text NOT NULL CHECK (milestone IN ('7d', '1d', 'expired')),
    expires_at  timestamptz NOT NULL,
    notice_id   uuid NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, milestone, expires_at)
);
-- the digest detector looks for keys near their expiry about once a minute in every instance
CREATE INDEX api_keys_expiring_idx ON api_keys (expires_at)
    WHERE revoked_at IS NULL AND expires_at IS NOT NULL;

COMMENT ON TABLE expiry_reminders IS 'Which digest told about a key reaching a milestone; a re-dated key can be reminded again.';

CREATE TABLE usage_alert_rules (
    id            uuid PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id        uuid REFERENCES api_keys (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('requests_per_hour', 'refusal_rate')),
    threshold     integer NOT NULL CHECK (threshold BETWEEN 1 AND 100000000),
    min_requests  integer NOT NULL DEFAULT 0 CHECK (min_requests BETWEEN 0 AND 100000000),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_alert_rules_account_idx ON usage_alert_rules (account_id);
COMMENT ON TABLE usage_alert_rules IS 'Usage alerts a user set, for one key or (key_id NULL) every key.';
COMMENT ON COLUMN usage_alert_rules.threshold IS 'requests_per_hour: more than this many requests in an hour; refusal_rate: refusals above this percentage.';
COMMENT ON COLUMN usage_alert_rules.min_requests IS 'refusal_rate only: the hour needs at least this many requests.';
