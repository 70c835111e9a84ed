-- Spend caps: for a money-moving scope of a key, optional caps per UTC day and per UTC month
-- (database clock) in US cents. The platform asks before it spends (POST /api/v1/spend); each
-- answer is kept with its idempotency key, so a retry gets the same answer and counts once.

CREATE TABLE key_spend_caps (
    key_id       uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    scope        text NOT NULL CHECK (scope IN ('vm.buy.crypto')),
    day_cents    bigint CHECK (day_cents IS NULL OR day_cents BETWEEN 1 AND 10000000000),
    month_cents  bigint CHECK (month_cents IS NULL OR month_cents BETWEEN 1 AND 10000000000),
    PRIMARY KEY (key_id, scope)
);
COMMENT ON TABLE key_spend_caps IS 'A key''s caps per money-moving scope, per UTC day and month in US cents; NULL = no cap.';

CREATE TABLE key_spends (
    id               uuid PRIMARY KEY,
    key_id           uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    scope            text NOT NULL CHECK (length(scope) <= 64),
    amount_cents     bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 10000000000),
    idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 64),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 140),
    status           text NOT NULL CHECK (status IN ('reserved', 'refused', 'voided')),
    answer           jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    voided_at        timestamptz,
    UNIQUE (key_id, idempotency_key)
);
CREATE INDEX key_spends_key_time_idx ON key_spends (key_id, created_at DESC);
COMMENT ON TABLE key_spends IS 'Every spend the platform asked about, with the answer it got (kept for retries with the same idempotency key); only reserved ones count against the caps.';
