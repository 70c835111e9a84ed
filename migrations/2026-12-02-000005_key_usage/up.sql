-- Usage: every verification whose hash matched a key, counted per key, hour and outcome, and
-- the client addresses each key is used from. Written in batches by every instance (counts
-- are added, so instances sum); kept 90 days; a deleted key's usage goes with it.

CREATE TABLE key_usage_hourly (
    key_id    uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL CHECK (date_trunc('hour', hour) = hour),
    outcome   text NOT NULL CHECK (outcome IN ('ok', 'revoked', 'expired', 'account_not_eligible')),
    requests  bigint NOT NULL CHECK (requests > 0),
    PRIMARY KEY (key_id, hour, outcome)
);
CREATE INDEX key_usage_hourly_hour_idx ON key_usage_hourly (hour);
COMMENT ON TABLE key_usage_hourly IS 'Verifications of a key per UTC hour and outcome (ok, or why it was refused).';

CREATE TABLE key_client_ips (
    key_id      uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    client_ip   text NOT NULL CHECK (length(client_ip) <= 64),
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    requests    bigint NOT NULL CHECK (requests > 0),
    PRIMARY KEY (key_id, client_ip)
);
CREATE INDEX key_client_ips_recent_idx ON key_client_ips (key_id, last_seen DESC);
COMMENT ON TABLE key_client_ips IS 'Where a key is used from: the 50 most recent client addresses per key.';

ALTER TABLE api_keys ADD COLUMN last_client_ip text CHECK (length(last_client_ip) <= 64),
                     ADD COLUMN last_user_agent text CHECK (length(last_user_agent) <= 512);
COMMENT ON COLUMN api_keys.last_client_ip IS 'Client address of the last use (approximate, like last_used_at).';
COMMENT ON COLUMN api_keys.last_user_agent IS 'User agent of the last use, cut to 256 characters.';
