ALTER TABLE api_keys DROP COLUMN last_user_agent, DROP COLUMN last_client_ip;
DROP TABLE key_client_ips;
DROP TABLE key_usage_hourly;
