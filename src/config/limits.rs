//! Settings of the per-key rate limit:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `APP_KEY_RATE_MAX` | `6000` | the highest rate limit (requests per window) an owner may set on a key |
//! | `APP_KEY_RATE_WINDOW_SECS` | `60` | the window a key's limit counts in, on the database's clock (a minute; tests shorten it) |

use std::time::Duration;

use super::{ConfigError, err};

/// How per-key rate limits are bounded and counted.
#[derive(Debug, Clone)]
pub struct RateSettings {
    /// The highest limit an owner may set.
    pub max: i32,
    /// The window a limit counts in.
    pub window: Duration,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self {
            max: 6_000,
            window: Duration::from_secs(60),
        }
    }
}

impl RateSettings {
    /// Reads the variables of the table above through `lookup`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let num = |var: &'static str, default: u64, min: u64, max: u64| {
            let Some(v) = lookup(var) else {
                return Ok(default);
            };
            let n: u64 = v
                .trim()
                .parse()
                .map_err(|_| err(var, "must be a whole number"))?;
            if (min..=max).contains(&n) {
                Ok(n)
            } else {
                Err(err(var, format!("must be between {min} and {max}")))
            }
        };
        Ok(Self {
            max: num("APP_KEY_RATE_MAX", 6_000, 1, 1_000_000)? as i32,
            window: Duration::from_secs(num("APP_KEY_RATE_WINDOW_SECS", 60, 1, 3_600)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bounds_and_errors() {
        let none = |_: &str| None;
        let s = RateSettings::from_lookup(&none).unwrap();
        assert_eq!((s.max, s.window), (6_000, Duration::from_secs(60)));
        let bad = |k: &str| (k == "APP_KEY_RATE_MAX").then(|| "0".to_owned());
        assert!(
            RateSettings::from_lookup(&bad)
                .unwrap_err()
                .to_string()
                .contains("APP_KEY_RATE_MAX")
        );
        let bad = |k: &str| (k == "APP_KEY_RATE_WINDOW_SECS").then(|| "x".to_owned());
        assert!(RateSettings::from_lookup(&bad).is_err());
    }
}
