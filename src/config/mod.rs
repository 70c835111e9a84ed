//! Settings, read only from `APP_*` environment variables and validated at start-up.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `APP_DATABASE_URL` | required | PostgreSQL URL (`postgres://user:pw@host:port/db`); never printed |
//! | `APP_SESSION_KEY` | required | ≥ 64 random bytes, hex; signs/encrypts the session cookie |
//! | `APP_KEY_PEPPER` | required | ≥ 32 random bytes, hex; HMAC key for API-key hashes. Changing it invalidates every key |
//! | `APP_INTROSPECTION_TOKEN` | required | ≥ 32 characters; bearer token of services calling `/api/v1/introspect` |
//! | `APP_LISTEN` | `127.0.0.1:8080` | address to serve on |
//! | `APP_WORKERS` | number of CPUs | HTTP worker threads |
//! | `APP_SUPPORT_EMAIL` | `hello@phygitals.com` | address shown to accounts without API access |
//! | `APP_SESSION_IDLE_SECS` | `1800` | idle timeout of a login session |
//! | `APP_SESSION_ABSOLUTE_SECS` | `43200` | absolute lifetime of a login session |
//! | `APP_DB_POOL_SIZE` | `16` | database connections per instance |
//! | `APP_DB_TIMEOUT_MS` | `3000` | wait for a pooled connection before answering 503 |
//! | `APP_LOGIN_MAX_FAILURES` | `5` | failed logins per e-mail before throttling |
//! | `APP_LOGIN_LOCKOUT_SECS` | `900` | how long throttling lasts (and the failure window) |
//! | `APP_LAST_USED_FLUSH_MS` | `5000` | how often buffered "last used" times are written |
//! | `APP_BODY_DEADLINE_SECS` | `30` | a form body must arrive within this time (else 408) |
//! | `APP_LAST_USED` | `on` | `off` stops recording "last used" (benchmarks only) |
//! | `APP_METRICS_LISTEN` | unset | address of the Prometheus `/metrics` listener (none when unset) |
//! | `APP_LOG_FORMAT` | `human` | `human` or `json` |
//! | `APP_PUBLIC_URL` | `http://127.0.0.1:8080` | the public origin: wallet challenges name it, the Origin check compares with it, `https` turns on HSTS |
//! | `APP_TRUSTED_PROXIES` | empty | comma-separated IPs or CIDRs whose `X-Forwarded-For` is believed (client IP); nothing else trusts a forwarding header |
//! | `APP_LOGIN_MAX_FAILURES_PER_IP` | `50` | failed logins per client IP within `APP_LOGIN_LOCKOUT_SECS` before that client is throttled |
//! | `APP_REAUTH_SECS` | `600` | how recently the password must have been entered to create or roll a key or widen its scopes (at least 30) |
//! | `APP_LOGIN_QUEUE` | `32` | logins that may wait for a password check; more are answered 503 |
//! | `APP_PRUNE_INTERVAL_SECS` | `300` | how often expired sessions, challenges, throttle rows and what is kept 90 days (usage, client addresses, the last use's address and user agent, notices) are deleted |
//! | `APP_USAGE_FLUSH_MS` | `5000` | how often buffered usage counts are added to the database |
//! | `APP_USAGE` | `on` | `off` stops recording usage (benchmarks only) |
//! | `APP_USAGE_MAX_ENTRIES` | `100000` | usage entries buffered at most between flushes; more are counted as dropped |
//! | `APP_GITHUB_SCANNING_KEYS` | unset | file holding GitHub's secret-scanning public keys (the shape of `api.github.com/meta/public_keys/secret_scanning`); unset = every alert is refused with 401. Re-read when an alert names a key it lacks, so replacing the file rotates keys without a restart |
//! | `APP_GITHUB_SCANNING_KEYS_URL` | unset | where to fetch a fresh key document when an alert names an unknown key (at most once a minute, 5 s timeout; a failed fetch keeps the last good keys) |
//! | `APP_REVOKE_MAX_PER_MINUTE` | `10` | calls to the public `POST /api/v1/keys/revoke` per client IP a minute; more get 429 |
//! | `APP_SMTP_URL` … `APP_NOTIFY_DETECT_MS` | | notifications: the table in `config::notify` |
//! | `APP_KEY_RATE_MAX`, `APP_KEY_RATE_WINDOW_SECS` | | per-key rate limits: the table in `config::limits` |
//!
//! Every number has an upper bound too, so no setting can overflow the arithmetic it feeds.

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;

mod limits;
mod network;
mod notify;
mod scanning;
pub use limits::RateSettings;
pub use network::{PublicUrl, parse_proxies};
pub use notify::NotifySettings;
pub use scanning::ScanningSettings;

/// A secret value that never prints itself.
#[derive(Clone)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// Reads the secret; keep the result out of logs.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Everything keydesk needs to run, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// PostgreSQL URL.
    pub database_url: Secret<String>,
    /// Cookie signing/encryption key material (≥ 64 bytes).
    pub session_key: Secret<Vec<u8>>,
    /// HMAC key for API-key hashes (≥ 32 bytes).
    pub key_pepper: Secret<Vec<u8>>,
    /// Bearer token for `/api/v1/introspect` callers.
    pub introspection_token: Secret<String>,
    /// Listen address.
    pub listen: SocketAddr,
    /// HTTP workers.
    pub workers: usize,
    /// Support address shown to accounts without API access.
    pub support_email: String,
    /// Session idle timeout.
    pub session_idle: Duration,
    /// Session absolute lifetime.
    pub session_absolute: Duration,
    /// Pool size.
    pub db_pool_size: usize,
    /// Pool wait/connect timeout.
    pub db_timeout: Duration,
    /// Failed logins before throttling.
    pub login_max_failures: i32,
    /// Throttle duration and failure window.
    pub login_lockout: Duration,
    /// How recent a password entry must be for creating or rolling a key or widening scopes.
    pub reauth_window: Duration,
    /// Interval of the last-used flush.
    pub last_used_flush: Duration,
    /// Deadline for reading a form body.
    pub body_deadline: Duration,
    /// Record last-used at all (off only for benchmarks).
    pub last_used_enabled: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// Where `/metrics` is served (a separate listener), if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The public origin users reach keydesk at.
    pub public_url: PublicUrl,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Failed logins per client IP (within the lockout window) before throttling.
    pub login_max_failures_per_ip: i32,
    /// Logins that may wait for a password check at once.
    pub login_queue: usize,
    /// Interval of the pruning task.
    pub prune_interval: Duration,
    /// Interval of the usage flush.
    pub usage_flush: Duration,
    /// Record usage at all (off only for benchmarks).
    pub usage_enabled: bool,
    /// Usage entries buffered at most between flushes.
    pub usage_max_entries: usize,
    /// GitHub's secret-scanning keys and the public revoke endpoint's limit.
    pub scanning: ScanningSettings,
    /// Notifications: e-mail, webhooks, the outbox worker, the digest (`config::notify`).
    pub notify: NotifySettings,
    /// Per-key rate limits (`config::limits`).
    pub rate: RateSettings,
}

/// A variable that is missing or invalid; the message names it and never shows a secret value.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    /// The variable's name.
    pub var: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

fn err(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

impl Settings {
    /// Reads and validates every `APP_*` variable from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment in production; a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |var: &'static str| {
            lookup(var)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| err(var, "is not set"))
        };
        let parsed =
            |var: &'static str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
                match lookup(var) {
                    None => Ok(default),
                    Some(v) => {
                        let n: u64 = v
                            .trim()
                            .parse()
                            .map_err(|_| err(var, "must be a whole number"))?;
                        if n < min {
                            return Err(err(var, format!("must be at least {min}")));
                        }
                        if n > max {
                            return Err(err(var, format!("must be at most {max}")));
                        }
                        Ok(n)
                    }
                }
            };
        const DAY: u64 = 86_400;
        let hex_secret = |var: &'static str, min_bytes: usize| -> Result<Vec<u8>, ConfigError> {
            let bytes = hex::decode(required(var)?.trim())
                .map_err(|_| err(var, "must be hex-encoded random bytes"))?;
            if bytes.len() < min_bytes {
                return Err(err(
                    var,
                    format!("must hold at least {min_bytes} random bytes (hex-encoded)"),
                ));
            }
            Ok(bytes)
        };

        let database_url = required("APP_DATABASE_URL")?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(err(
                "APP_DATABASE_URL",
                "must start with postgres:// or postgresql://",
            ));
        }
        let introspection_token = required("APP_INTROSPECTION_TOKEN")?;
        if introspection_token.len() < 32 {
            return Err(err(
                "APP_INTROSPECTION_TOKEN",
                "must be at least 32 characters",
            ));
        }
        let listen = lookup("APP_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| err("APP_LISTEN", "must be an address like 127.0.0.1:8080"))?;
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let log_format = match lookup("APP_LOG_FORMAT").as_deref() {
            None | Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(err("APP_LOG_FORMAT", "must be human or json")),
        };
        let support_email =
            lookup("APP_SUPPORT_EMAIL").unwrap_or_else(|| "hello@phygitals.com".into());
        if !support_email.contains('@') {
            return Err(err("APP_SUPPORT_EMAIL", "must be an e-mail address"));
        }

        Ok(Self {
            database_url: Secret::new(database_url),
            session_key: Secret::new(hex_secret("APP_SESSION_KEY", 64)?),
            key_pepper: Secret::new(hex_secret("APP_KEY_PEPPER", 32)?),
            introspection_token: Secret::new(introspection_token),
            listen,
            workers: parsed("APP_WORKERS", cpus as u64, 1, 512)? as usize,
            support_email,
            session_idle: Duration::from_secs(parsed("APP_SESSION_IDLE_SECS", 1800, 1, 30 * DAY)?),
            session_absolute: Duration::from_secs(parsed(
                "APP_SESSION_ABSOLUTE_SECS",
                43200,
                1,
                90 * DAY,
            )?),
            db_pool_size: parsed("APP_DB_POOL_SIZE", 16, 1, 1000)? as usize,
            db_timeout: Duration::from_millis(parsed("APP_DB_TIMEOUT_MS", 3000, 100, 600_000)?),
            login_max_failures: parsed("APP_LOGIN_MAX_FAILURES", 5, 1, 1000)? as i32,
            login_lockout: Duration::from_secs(parsed("APP_LOGIN_LOCKOUT_SECS", 900, 1, 7 * DAY)?),
            reauth_window: Duration::from_secs(parsed("APP_REAUTH_SECS", 600, 30, DAY)?),
            last_used_flush: Duration::from_millis(parsed(
                "APP_LAST_USED_FLUSH_MS",
                5000,
                50,
                3_600_000,
            )?),
            body_deadline: Duration::from_secs(parsed("APP_BODY_DEADLINE_SECS", 30, 1, 600)?),
            public_url: PublicUrl::parse(
                lookup("APP_PUBLIC_URL")
                    .as_deref()
                    .unwrap_or("http://127.0.0.1:8080"),
            )
            .map_err(|p| err("APP_PUBLIC_URL", p))?,
            trusted_proxies: parse_proxies(&lookup("APP_TRUSTED_PROXIES").unwrap_or_default())
                .map_err(|p| err("APP_TRUSTED_PROXIES", p))?,
            login_max_failures_per_ip: parsed("APP_LOGIN_MAX_FAILURES_PER_IP", 50, 1, 100_000)?
                as i32,
            login_queue: parsed("APP_LOGIN_QUEUE", 32, 1, 10_000)? as usize,
            prune_interval: Duration::from_secs(parsed("APP_PRUNE_INTERVAL_SECS", 300, 1, DAY)?),
            usage_flush: Duration::from_millis(parsed("APP_USAGE_FLUSH_MS", 5000, 50, 60_000)?),
            usage_enabled: match lookup("APP_USAGE").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => return Err(err("APP_USAGE", "must be on or off")),
            },
            usage_max_entries: parsed("APP_USAGE_MAX_ENTRIES", 100_000, 100, 10_000_000)? as usize,
            notify: NotifySettings::from_lookup(&lookup)?,
            rate: RateSettings::from_lookup(&lookup)?,
            last_used_enabled: match lookup("APP_LAST_USED").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => return Err(err("APP_LAST_USED", "must be on or off")),
            },
            log_format,
            scanning: ScanningSettings::from_lookup(&lookup)?,
            metrics_listen: match lookup("APP_METRICS_LISTEN") {
                None => None,
                Some(v) if v.trim().is_empty() => None,
                Some(v) => Some(v.trim().parse().map_err(|_| {
                    err(
                        "APP_METRICS_LISTEN",
                        "must be an address like 127.0.0.1:9090",
                    )
                })?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            (
                "APP_DATABASE_URL",
                "postgres://u:p@127.0.0.1/db".to_string(),
            ),
            ("APP_SESSION_KEY", "ab".repeat(64)),
            ("APP_KEY_PEPPER", "cd".repeat(32)),
            ("APP_INTROSPECTION_TOKEN", "t".repeat(32)),
        ])
    }

    fn load(m: &HashMap<&'static str, String>) -> Result<Settings, ConfigError> {
        Settings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_only_required_variables_are_set() {
        let s = load(&base()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.session_idle, Duration::from_secs(1800));
        assert_eq!(s.support_email, "hello@phygitals.com");
    }

    #[test]
    fn each_bad_variable_is_named_and_its_value_is_not_printed() {
        for (var, value) in [
            ("APP_DATABASE_URL", "mysql://secretvalue"),
            ("APP_SESSION_KEY", "abcd"),
            ("APP_KEY_PEPPER", "not-hex-secretvalue"),
            ("APP_INTROSPECTION_TOKEN", "short"),
            ("APP_LISTEN", "nowhere"),
            ("APP_SESSION_IDLE_SECS", "0"),
            ("APP_LOG_FORMAT", "xml"),
            ("APP_SESSION_IDLE_SECS", "18446744073709551615"),
            ("APP_SESSION_ABSOLUTE_SECS", "99999999999999"),
            ("APP_LOGIN_MAX_FAILURES", "4294967296"),
            ("APP_LOGIN_LOCKOUT_SECS", "9999999999999"),
            ("APP_BODY_DEADLINE_SECS", "99999999999"),
            ("APP_PUBLIC_URL", "ftp://secretvalue.example"),
            ("APP_PUBLIC_URL", "https://example.com/path"),
            ("APP_TRUSTED_PROXIES", "10.0.0.0/8, nonsense"),
        ] {
            let mut m = base();
            m.insert(var, value.to_string());
            let e = load(&m).unwrap_err().to_string();
            assert!(e.contains(var), "{e}");
            assert!(!e.contains("secretvalue"), "{e}");
        }
        let mut m = base();
        m.remove("APP_KEY_PEPPER");
        assert_eq!(load(&m).unwrap_err().var, "APP_KEY_PEPPER");
    }

    #[test]
    fn the_public_url_and_trusted_proxies_parse() {
        let mut m = base();
        m.insert("APP_PUBLIC_URL", "https://phygitals.com/".into());
        m.insert(
            "APP_TRUSTED_PROXIES",
            " 10.0.0.1 , 192.168.0.0/16,::1".into(),
        );
        let s = load(&m).unwrap();
        assert_eq!(s.public_url.origin(), "https://phygitals.com");
        assert!(s.public_url.is_https());
        assert_eq!(s.trusted_proxies.len(), 3);
        assert_eq!(
            load(&base()).unwrap().public_url.origin(),
            "http://127.0.0.1:8080"
        );
        assert!(load(&base()).unwrap().trusted_proxies.is_empty());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = load(&base()).unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("postgres://"));
        assert!(!dbg.contains(&"t".repeat(32)));
    }
}
