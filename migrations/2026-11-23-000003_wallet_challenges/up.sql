-- One-time challenges a user signs with a self-custodied wallet to prove they own it.
CREATE TABLE wallet_challenges (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address     text NOT NULL,
    message     text NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX wallet_challenges_account_idx ON wallet_challenges (account_id, issued_at DESC);
COMMENT ON COLUMN wallet_challenges.message IS 'The exact text the wallet signs (domain, address, statement, nonce, times).';
COMMENT ON COLUMN wallet_challenges.used_at IS 'Set when a signature linked the wallet; a used challenge never links again.';
