//! Notifications: the outbox (`notices`, `notice_deliveries`), preferences, webhooks, alert
//! rules and the expiry reminders the digest has sent.

diesel::table! {
    /// Which digest told about a key reaching a milestone; a re-dated key can be reminded again.
    expiry_reminders (key_id, milestone, expires_at) {
        /// The `key_id` column of the `expiry_reminders` table.
        key_id -> Uuid,
        /// The `milestone` column of the `expiry_reminders` table.
        milestone -> Text,
        /// The `expires_at` column of the `expiry_reminders` table.
        expires_at -> Timestamptz,
        /// The `notice_id` column of the `expiry_reminders` table.
        notice_id -> Uuid,
    }
}

diesel::table! {
    /// The outbox: one row per notice and outside channel.
    notice_deliveries (id) {
        /// The `id` column of the `notice_deliveries` table.
        id -> Int8,
        /// The `notice_id` column of the `notice_deliveries` table.
        notice_id -> Uuid,
        /// The `channel` column of the `notice_deliveries` table.
        channel -> Text,
        /// pending, delivered, failed (attempts used up) or skipped (channel not set up).
        status -> Text,
        /// Attempts started; after the bound the row is failed and kept.
        attempts -> Int4,
        /// Due time; a claimed row is pushed forward by a lease, so a crashed sender's row comes back.
        next_attempt_at -> Timestamptz,
        /// Why the last attempt failed (no secret, cut to 500 characters).
        last_error -> Nullable<Text>,
        /// The `created_at` column of the `notice_deliveries` table.
        created_at -> Timestamptz,
        /// The `finished_at` column of the `notice_deliveries` table.
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Something an account should hear about; the source of every delivery. Kept 90 days (then pruned with its deliveries, unless one is still pending).
    notices (id) {
        /// Stable id: the webhook-id and e-mail Message-ID, so receivers can drop a re-sent copy.
        id -> Uuid,
        /// The `account_id` column of the `notices` table.
        account_id -> Uuid,
        /// The `kind` column of the `notices` table.
        kind -> Text,
        /// Public id of the key concerned; no foreign key, the notice outlives a deleted key.
        key_id -> Nullable<Uuid>,
        /// Names the condition (kind, subject, period): detecting it twice makes one notice.
        idempotency_key -> Text,
        /// Non-secret details (key names, prefixes, addresses, counts). Never a secret.
        payload -> Jsonb,
        /// Shown on the keys page (the account's preference when the notice was made).
        in_app -> Bool,
        /// The `created_at` column of the `notices` table.
        created_at -> Timestamptz,
        /// Set when the user dismissed the in-app notice.
        dismissed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Per-user switches per event type and channel; a missing row means the default.
    notification_preferences (account_id, event, channel) {
        /// The `account_id` column of the `notification_preferences` table.
        account_id -> Uuid,
        /// The `event` column of the `notification_preferences` table.
        event -> Text,
        /// The `channel` column of the `notification_preferences` table.
        channel -> Text,
        /// The `enabled` column of the `notification_preferences` table.
        enabled -> Bool,
    }
}

diesel::table! {
    /// Usage alerts a user set, for one key or (key_id NULL) every key.
    usage_alert_rules (id) {
        /// The `id` column of the `usage_alert_rules` table.
        id -> Uuid,
        /// The `account_id` column of the `usage_alert_rules` table.
        account_id -> Uuid,
        /// The `key_id` column of the `usage_alert_rules` table.
        key_id -> Nullable<Uuid>,
        /// The `kind` column of the `usage_alert_rules` table.
        kind -> Text,
        /// requests_per_hour: more than this many requests in an hour; refusal_rate: refusals above this percentage.
        threshold -> Int4,
        /// refusal_rate only: the hour needs at least this many requests.
        min_requests -> Int4,
        /// The `created_at` column of the `usage_alert_rules` table.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// One signed-webhook destination per account.
    webhook_endpoints (account_id) {
        /// The `account_id` column of the `webhook_endpoints` table.
        account_id -> Uuid,
        /// The `url` column of the `webhook_endpoints` table.
        url -> Text,
        /// HMAC signing key (Standard Webhooks). Stored because every delivery must be signed with it; shown to the user once, never logged.
        secret -> Bytea,
        /// The `created_at` column of the `webhook_endpoints` table.
        created_at -> Timestamptz,
    }
}
