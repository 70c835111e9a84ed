//! Settings of the exposed-key endpoints: GitHub's secret-scanning key document (a file, and
//! optionally the URL it is refreshed from) and the per-IP limit of public revoke-by-secret.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, err};

/// How exposed keys are reported to keydesk.
#[derive(Debug, Clone)]
pub struct ScanningSettings {
    /// `APP_GITHUB_SCANNING_KEYS`: GitHub's public-key document; unset = every alert is
    /// refused with 401 (nothing can be verified).
    pub keys_file: Option<PathBuf>,
    /// `APP_GITHUB_SCANNING_KEYS_URL`: where a fresh document is fetched when an alert names
    /// a key the file lacks (at most once a minute).
    pub keys_url: Option<String>,
    /// `APP_REVOKE_MAX_PER_MINUTE`: calls to `POST /api/v1/keys/revoke` per client IP a minute.
    pub revoke_per_minute: i32,
    /// The least time between two refreshes of the key document (re-read and fetch). Not read
    /// from the environment: always a minute in production, so an alert cannot make keydesk
    /// fetch more often; tests shorten it to see a second refresh.
    pub keys_refresh_every: Duration,
}

/// The least time between two refreshes of the key document.
const REFRESH_EVERY: Duration = Duration::from_secs(60);

impl Default for ScanningSettings {
    fn default() -> Self {
        Self {
            keys_file: None,
            keys_url: None,
            revoke_per_minute: 10,
            keys_refresh_every: REFRESH_EVERY,
        }
    }
}

impl ScanningSettings {
    /// Reads the three variables through `lookup`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |var: &str| {
            lookup(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let keys_url = match set("APP_GITHUB_SCANNING_KEYS_URL") {
            None => None,
            Some(u) => {
                let parsed = url::Url::parse(&u)
                    .map_err(|_| err("APP_GITHUB_SCANNING_KEYS_URL", "must be an http(s) URL"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    return Err(err(
                        "APP_GITHUB_SCANNING_KEYS_URL",
                        "must be an http(s) URL",
                    ));
                }
                Some(u)
            }
        };
        let revoke_per_minute = match set("APP_REVOKE_MAX_PER_MINUTE") {
            None => 10,
            Some(v) => v
                .parse::<i32>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| {
                    err(
                        "APP_REVOKE_MAX_PER_MINUTE",
                        "must be a whole number from 1 to 100000",
                    )
                })?,
        };
        Ok(Self {
            keys_file: set("APP_GITHUB_SCANNING_KEYS").map(PathBuf::from),
            keys_url,
            revoke_per_minute,
            keys_refresh_every: REFRESH_EVERY,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values_are_named() {
        let none = |_: &str| None;
        let s = ScanningSettings::from_lookup(&none).unwrap();
        assert!(s.keys_file.is_none() && s.keys_url.is_none());
        assert_eq!(s.revoke_per_minute, 10);
        let bad_url = |v: &str| (v == "APP_GITHUB_SCANNING_KEYS_URL").then(|| "ftp://x".into());
        assert_eq!(
            ScanningSettings::from_lookup(&bad_url).unwrap_err().var,
            "APP_GITHUB_SCANNING_KEYS_URL"
        );
        let bad_rate = |v: &str| (v == "APP_REVOKE_MAX_PER_MINUTE").then(|| "0".into());
        assert_eq!(
            ScanningSettings::from_lookup(&bad_rate).unwrap_err().var,
            "APP_REVOKE_MAX_PER_MINUTE"
        );
    }
}
