-- API keys, the per-account "API keys enabled" flag, and wallets.

ALTER TABLE users ADD COLUMN api_keys_enabled boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN users.api_keys_enabled IS 'Set by operators; an account may create keys only when true.';

CREATE TABLE wallets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address     text NOT NULL UNIQUE,
    kind        text NOT NULL CHECK (kind IN ('external', 'embedded', 'custodial')),
    linked_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallets_account_idx ON wallets (account_id);
COMMENT ON COLUMN wallets.address IS 'base58 Solana address; one address belongs to at most one account.';
COMMENT ON COLUMN wallets.kind IS 'external = self-custodied, ownership proven by signature; embedded/custodial = held by the platform, never qualifies.';

CREATE TABLE api_keys (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    prefix          text NOT NULL CHECK (char_length(prefix) = 12),
    hash            bytea NOT NULL UNIQUE,
    hash_version    smallint NOT NULL DEFAULT 1,
    scopes          text[] NOT NULL CHECK (cardinality(scopes) >= 1),
    request_id      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    revoked_by      uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX api_keys_account_idx ON api_keys (account_id, created_at DESC);
CREATE UNIQUE INDEX api_keys_name_live_key ON api_keys (account_id, lower(name)) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX api_keys_request_id_key ON api_keys (account_id, request_id);
COMMENT ON COLUMN api_keys.id IS 'Public id used in URLs and as the introspection client_id.';
COMMENT ON COLUMN api_keys.prefix IS 'First 12 characters of the secret, for identification only.';
COMMENT ON COLUMN api_keys.hash IS 'HMAC-SHA-256 of the whole secret under APP_KEY_PEPPER. The secret itself is never stored.';
COMMENT ON COLUMN api_keys.hash_version IS '1 = HMAC-SHA-256 with the current pepper.';
COMMENT ON COLUMN api_keys.request_id IS 'One-time id carried by the create form; a resubmission with the same id creates nothing.';
COMMENT ON COLUMN api_keys.last_used_at IS 'Approximate (flushed in batches, at most about a minute behind).';
COMMENT ON COLUMN api_keys.expires_at IS 'NULL = never expires.';
