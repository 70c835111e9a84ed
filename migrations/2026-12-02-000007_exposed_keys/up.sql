-- Exposed keys: why a key was revoked when nobody signed in to revoke it (GitHub's secret
-- scanning found it in public code, or someone holding it reported it), where it was found,
-- and the per-client-IP counter that bounds the public revoke-by-secret endpoint.

ALTER TABLE api_keys
    ADD COLUMN revoked_reason text CHECK (revoked_reason IN ('exposed', 'reported')),
    ADD COLUMN exposed_url text CHECK (length(exposed_url) <= 2048),
    ADD COLUMN exposed_source text CHECK (length(exposed_source) <= 64),
    ADD CONSTRAINT api_keys_reason_needs_revocation
        CHECK (revoked_reason IS NULL OR revoked_at IS NOT NULL);
COMMENT ON COLUMN api_keys.revoked_reason IS 'exposed = found in public code (secret scanning or an operator report), reported = revoked by someone holding the secret; NULL = revoked by its owner (revoked_by) or not revoked.';
COMMENT ON COLUMN api_keys.exposed_url IS 'Where the secret was found, as reported (public URL, shown as text only, never as a link).';
COMMENT ON COLUMN api_keys.exposed_source IS 'What kind of place it was found in, as reported (content, commit, gist, npm, operator …).';

CREATE TABLE revoke_throttle (
    client_ip     text PRIMARY KEY CHECK (length(client_ip) <= 64),
    calls         integer NOT NULL,
    window_start  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE revoke_throttle IS 'Calls to the public revoke-by-secret endpoint per client IP within a one-minute window.';
COMMENT ON COLUMN revoke_throttle.calls IS 'Calls counted in the window, refused ones included, so hammering never earns more.';
