DROP TABLE api_keys;
DROP TABLE wallets;
ALTER TABLE users DROP COLUMN api_keys_enabled;
