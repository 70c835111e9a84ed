DELETE FROM usage_alert_rules WHERE kind = 'rate_limited';
ALTER TABLE usage_alert_rules DROP CONSTRAINT usage_alert_rules_kind_check;
ALTER TABLE usage_alert_rules ADD CONSTRAINT usage_alert_rules_kind_check
    CHECK (kind IN ('requests_per_hour', 'refusal_rate'));
DELETE FROM key_usage_hourly WHERE outcome = 'rate_limited';
ALTER TABLE key_usage_hourly DROP CONSTRAINT key_usage_hourly_outcome_check;
ALTER TABLE key_usage_hourly ADD CONSTRAINT key_usage_hourly_outcome_check
    CHECK (outcome IN ('ok', 'revoked', 'expired', 'account_not_eligible', 'paused', 'ip_not_allowed'));
DROP TABLE key_rate_windows;
ALTER TABLE api_keys DROP COLUMN rate_limit;
