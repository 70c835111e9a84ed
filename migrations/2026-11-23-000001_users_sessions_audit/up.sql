-- Accounts, server-side sessions, login throttling and the audit trail.

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash   text NOT NULL,
    role            text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'support')),
    time_zone       text NOT NULL DEFAULT 'UTC',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
COMMENT ON COLUMN users.email IS 'Login e-mail; unique case-insensitively (users_email_lower_key).';
COMMENT ON COLUMN users.password_hash IS 'argon2id PHC string; never a plain password.';
COMMENT ON COLUMN users.role IS 'member (default) or support (read-only staff console).';
COMMENT ON COLUMN users.time_zone IS 'IANA zone name used to show and enter times.';

CREATE TABLE sessions (
    id_hash             bytea PRIMARY KEY,
    state               jsonb NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
COMMENT ON COLUMN sessions.id_hash IS 'SHA-256 of the session id in the cookie; the id itself is never stored.';
COMMENT ON COLUMN sessions.expires_at IS 'Idle deadline, pushed forward while the session is used.';
COMMENT ON COLUMN sessions.absolute_expires_at IS 'Hard deadline counted from login; never extended.';

CREATE TABLE login_throttle (
    email_lower     text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0,
    window_start    timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz
);
COMMENT ON TABLE login_throttle IS 'Failed logins per e-mail (known or not, so it reveals nothing).';

CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    account_id  uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    action      text NOT NULL,
    key_id      uuid,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip          text,
    user_agent  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_account_idx ON audit_events (account_id, created_at DESC, id DESC);
COMMENT ON COLUMN audit_events.action IS 'What happened, e.g. login.succeeded, key.created, key.revoked.';
COMMENT ON COLUMN audit_events.key_id IS 'Public id of the key concerned; kept after the key row is deleted.';
COMMENT ON COLUMN audit_events.detail IS 'Non-secret context (key name, prefix, reason). Never a secret or password.';
