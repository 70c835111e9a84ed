-- Per-key rate limits: an optional number of accepted verifications per window (a minute on the
-- database's clock). Instances lease slices of a key's window budget from key_rate_windows with
-- one conditional upsert each and spend them in memory, so no verification writes, and the
-- accepted verifications of all instances together never exceed the limit: what an instance
-- leased and did not use is lost with the window, never granted twice.

ALTER TABLE api_keys ADD COLUMN rate_limit integer
    CHECK (rate_limit IS NULL OR rate_limit BETWEEN 1 AND 1000000);
COMMENT ON COLUMN api_keys.rate_limit IS 'Accepted verifications per window (APP_KEY_RATE_WINDOW_SECS, a minute) across every instance; NULL = no limit.';

CREATE TABLE key_rate_windows (
    key_id      uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    window_no   bigint NOT NULL,
    granted     integer NOT NULL CHECK (granted >= 0),
    last_slice  integer NOT NULL CHECK (last_slice >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, window_no)
);
CREATE INDEX key_rate_windows_created_idx ON key_rate_windows (created_at);
COMMENT ON TABLE key_rate_windows IS 'Per key and window (epoch seconds / window length, database clock): how much of the limit instances have leased. Kept a day.';
COMMENT ON COLUMN key_rate_windows.last_slice IS 'What the latest lease added (computed from the row as it was, so the leasing instance learns its slice in the same statement).';

ALTER TABLE key_usage_hourly DROP CONSTRAINT key_usage_hourly_outcome_check;
ALTER TABLE key_usage_hourly ADD CONSTRAINT key_usage_hourly_outcome_check
    CHECK (outcome IN ('ok', 'revoked', 'expired', 'account_not_eligible', 'paused', 'ip_not_allowed',
                       'rate_limited'));

-- a usage alert rule may watch rate-limit refusals
ALTER TABLE usage_alert_rules DROP CONSTRAINT usage_alert_rules_kind_check;
ALTER TABLE usage_alert_rules ADD CONSTRAINT usage_alert_rules_kind_check
    CHECK (kind IN ('requests_per_hour', 'refusal_rate', 'rate_limited'));
