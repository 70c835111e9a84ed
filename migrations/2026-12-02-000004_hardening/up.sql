-- Hardening: a per-client-IP login throttle beside the per-e-mail one, and indexes that let
-- the pruning task delete expired rows in small batches.

CREATE TABLE login_ip_throttle (
    client_ip     text PRIMARY KEY CHECK (length(client_ip) <= 64),
    failures      integer NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE login_ip_throttle IS 'Login attempts per client IP within a window: one client cannot lock out every account it can name.';
COMMENT ON COLUMN login_ip_throttle.failures IS 'Attempts counted before the password check; a success gives its one back.';

CREATE INDEX login_ip_throttle_window_idx ON login_ip_throttle (window_start);
CREATE INDEX login_throttle_window_idx ON login_throttle (window_start);
CREATE INDEX wallet_challenges_expires_idx ON wallet_challenges (expires_at);
