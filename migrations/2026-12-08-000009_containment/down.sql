DELETE FROM notices WHERE kind IN ('key_paused', 'key_resumed');
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('expiry_digest', 'new_client_ip', 'usage_alert', 'key_exposed_revoked',
                    'wallet_unlinked', 'api_keys_disabled', 'webhook_test'));
ALTER TABLE key_client_ips DROP COLUMN user_agent, DROP COLUMN outside, DROP COLUMN refused;
DELETE FROM key_usage_hourly WHERE outcome IN ('paused', 'ip_not_allowed');
ALTER TABLE key_usage_hourly DROP CONSTRAINT key_usage_hourly_outcome_check;
ALTER TABLE key_usage_hourly ADD CONSTRAINT key_usage_hourly_outcome_check
    CHECK (outcome IN ('ok', 'revoked', 'expired', 'account_not_eligible'));
ALTER TABLE api_keys DROP CONSTRAINT api_keys_binding_needs_networks,
    DROP COLUMN networks, DROP COLUMN network_mode, DROP COLUMN paused_at;
