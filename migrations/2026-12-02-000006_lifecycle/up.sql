-- Key lifecycle (round 2): notes, both ends of a key, the preset an expiry came from, and
-- rolling a key onto a successor with a grace period.
ALTER TABLE api_keys
    ADD COLUMN note text NOT NULL DEFAULT '' CHECK (char_length(note) <= 280),
    ADD COLUMN tail text CHECK (tail IS NULL OR char_length(tail) = 6),
    ADD COLUMN expiry_days smallint CHECK (expiry_days IS NULL OR expiry_days > 0),
    ADD COLUMN rolled_at timestamptz,
    ADD COLUMN rolled_to uuid REFERENCES api_keys (id) ON DELETE SET NULL;

COMMENT ON COLUMN api_keys.note IS 'What the key is for, in its owner''s words (0-280 characters).';
COMMENT ON COLUMN api_keys.tail IS 'Last 6 characters of the secret, for identification only (NULL for keys made before round 2).';
COMMENT ON COLUMN api_keys.expiry_days IS 'The preset (in days) the expiry was last set from; NULL = a custom date or never. A roll restarts a preset from the roll.';
COMMENT ON COLUMN api_keys.rolled_at IS 'When the key was rolled: from then on it is "Rolling" until its expires_at (the end of the grace period), does not count toward the 10-key limit and does not hold its name.';
COMMENT ON COLUMN api_keys.rolled_to IS 'The key that replaced this one when it was rolled.';

-- A rolling key gives its name to its successor.
DROP INDEX api_keys_name_live_key;
CREATE UNIQUE INDEX api_keys_name_live_key ON api_keys (account_id, lower(name))
    WHERE revoked_at IS NULL AND rolled_at IS NULL;

-- Support finds a key by its last characters.
CREATE INDEX api_keys_tail_idx ON api_keys (tail) WHERE tail IS NOT NULL;
