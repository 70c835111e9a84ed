-- Containment (round 3): a key's own bounds, read by the one verification query (no extra
-- statement per verification): pause by its owner, and a network allow list with a mode.

ALTER TABLE api_keys
    ADD COLUMN paused_at timestamptz,
    ADD COLUMN network_mode text NOT NULL DEFAULT 'off'
        CHECK (network_mode IN ('off', 'dry_run', 'enforce')),
    ADD COLUMN networks cidr[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(networks) <= 20),
    ADD CONSTRAINT api_keys_binding_needs_networks
        CHECK (network_mode = 'off' OR cardinality(networks) >= 1);
COMMENT ON COLUMN api_keys.paused_at IS 'Paused by its owner since (refused as paused until resumed); NULL = not paused. Distinct from the account-wide pause of eligibility.';
COMMENT ON COLUMN api_keys.network_mode IS 'off = any address; dry_run = addresses outside networks are accepted but counted; enforce = refused (ip_not_allowed).';
COMMENT ON COLUMN api_keys.networks IS 'The allow list: at most 20 IPv4/IPv6 ranges, canonical (no host bits).';

-- refusals by the new bounds are counted like the others
ALTER TABLE key_usage_hourly DROP CONSTRAINT key_usage_hourly_outcome_check;
ALTER TABLE key_usage_hourly ADD CONSTRAINT key_usage_hourly_outcome_check
    CHECK (outcome IN ('ok', 'revoked', 'expired', 'account_not_eligible', 'paused', 'ip_not_allowed'));

-- per address: how many of its requests were refused, and how many a dry-run would have refused
ALTER TABLE key_client_ips
    ADD COLUMN refused bigint NOT NULL DEFAULT 0 CHECK (refused >= 0),
    ADD COLUMN outside bigint NOT NULL DEFAULT 0 CHECK (outside >= 0),
    ADD COLUMN user_agent text CHECK (length(user_agent) <= 512);
COMMENT ON COLUMN key_client_ips.refused IS 'Requests from this address that were refused (any reason).';
COMMENT ON COLUMN key_client_ips.outside IS 'Accepted requests from outside the key''s allow list while it was in dry-run: they would have been refused.';
COMMENT ON COLUMN key_client_ips.user_agent IS 'User agent of the latest request from this address, cut to 256 characters.';

-- the owner's pause and binding changes are notified like other security events
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('expiry_digest', 'new_client_ip', 'usage_alert', 'key_exposed_revoked',
                    'wallet_unlinked', 'api_keys_disabled', 'webhook_test', 'key_paused',
                    'key_resumed'));
