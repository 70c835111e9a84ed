//! The database schema, in the style `diesel print-schema` writes (see diesel.toml), split by
//! concern so no file grows past a screenful of tables: `accounts`, `keys`, `notify`. The
//! tables are re-exported here, so `db::schema::api_keys` names a table wherever it lives;
//! the joins and the tables that may share a query are declared once, below.

mod accounts;
mod keys;
mod notify;

pub use accounts::*;
pub use keys::*;
pub use notify::*;

diesel::joinable!(api_keys -> users (account_id));
diesel::joinable!(expiry_reminders -> api_keys (key_id));
diesel::joinable!(expiry_reminders -> notices (notice_id));
diesel::joinable!(key_client_ips -> api_keys (key_id));
diesel::joinable!(key_usage_hourly -> api_keys (key_id));
diesel::joinable!(notice_deliveries -> notices (notice_id));
diesel::joinable!(notices -> users (account_id));
diesel::joinable!(notification_preferences -> users (account_id));
diesel::joinable!(usage_alert_rules -> api_keys (key_id));
diesel::joinable!(usage_alert_rules -> users (account_id));
diesel::joinable!(wallet_challenges -> users (account_id));
diesel::joinable!(wallets -> users (account_id));
diesel::joinable!(webhook_endpoints -> users (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    audit_events,
    expiry_reminders,
    key_client_ips,
    key_usage_hourly,
    login_ip_throttle,
    login_throttle,
    revoke_throttle,
    notice_deliveries,
    notices,
    notification_preferences,
    sessions,
    usage_alert_rules,
    users,
    wallet_challenges,
    wallets,
    webhook_endpoints,
);
