DROP INDEX api_keys_tail_idx;
DROP INDEX api_keys_name_live_key;
CREATE UNIQUE INDEX api_keys_name_live_key ON api_keys (account_id, lower(name)) WHERE revoked_at IS NULL;
ALTER TABLE api_keys
    DROP COLUMN rolled_to,
    DROP COLUMN rolled_at,
    DROP COLUMN expiry_days,
    DROP COLUMN tail,
    DROP COLUMN note;
