DROP TABLE revoke_throttle;
ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_reason_needs_revocation,
    DROP COLUMN exposed_source,
    DROP COLUMN exposed_url,
    DROP COLUMN revoked_reason;
