DROP TABLE usage_alert_rules;
DROP TABLE expiry_reminders;
DROP INDEX api_keys_expiring_idx;
DROP TABLE webhook_endpoints;
DROP TABLE notification_preferences;
DROP TABLE notice_deliveries;
DROP TABLE notices;
