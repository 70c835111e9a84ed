//! Notification settings (e-mail, webhooks, the outbox worker, the expiry digest):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `APP_SMTP_URL` | unset | `smtp://host:port` (no TLS, or STARTTLS with `?tls=required`), `smtps://host:port` (TLS); `user:password@` when the server needs it; never printed. Unset: no e-mail is sent and the notifications page says so |
//! | `APP_MAIL_FROM` | `keydesk <no-reply@localhost>` | sender of notification e-mails |
//! | `APP_DIGEST_INTERVAL_SECS` | `86400` | at most one expiry digest per account per interval |
//! | `APP_WEBHOOK_ALLOW_PRIVATE` | `false` | `true` lets webhooks reach plain loopback, private and link-local addresses (development and tests only); other special-purpose ranges stay refused |
//! | `APP_NOTIFY_WORKER` | `on` | `off`: this instance delivers nothing and runs no detector (others do) |
//! | `APP_NOTIFY_POLL_MS` | `2000` | how often the worker looks for due deliveries |
//! | `APP_NOTIFY_BACKOFF_MS` | `30000` | first retry delay; doubles per attempt (jittered, at most an hour) |
//! | `APP_NOTIFY_MAX_ATTEMPTS` | `8` | attempts before a delivery is marked failed (and kept) |
//! | `APP_NOTIFY_DETECT_MS` | `60000` | how often the detectors (expiry digest, usage alerts) run |

use std::time::Duration;

use super::{ConfigError, Secret, err};

/// Everything the notification worker and pages need.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// SMTP server URL (may hold credentials); `None`: e-mail disabled.
    pub smtp_url: Option<Secret<String>>,
    /// The `From` of notification e-mails.
    pub mail_from: String,
    /// One expiry digest per account per this interval.
    pub digest_interval: Duration,
    /// Webhooks may reach plain loopback, private and link-local addresses
    /// (`domain::ip_ranges::Reach::Private`); other special-purpose ranges never.
    pub webhook_allow_private: bool,
    /// Run the delivery worker and the detectors in this instance.
    pub worker: bool,
    /// Worker poll interval.
    pub poll: Duration,
    /// First retry delay.
    pub backoff: Duration,
    /// Attempts before a delivery fails for good.
    pub max_attempts: u32,
    /// How often the detectors run.
    pub detect_every: Duration,
}

impl Default for NotifySettings {
    /// The defaults of the table above (e-mail disabled).
    fn default() -> Self {
        Self {
            smtp_url: None,
            mail_from: "keydesk <no-reply@localhost>".into(),
            digest_interval: Duration::from_secs(86_400),
            webhook_allow_private: false,
            worker: true,
            poll: Duration::from_millis(2000),
            backoff: Duration::from_millis(30_000),
            max_attempts: 8,
            detect_every: Duration::from_secs(60),
        }
    }
}

impl NotifySettings {
    /// E-mail can be sent.
    pub fn email_enabled(&self) -> bool {
        self.smtp_url.is_some()
    }

    /// Reads the variables of the table above through `lookup`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let num =
            |var: &'static str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
                let Some(v) = lookup(var) else {
                    return Ok(default);
                };
                let n: u64 = v
                    .trim()
                    .parse()
                    .map_err(|_| err(var, "must be a whole number"))?;
                if !(min..=max).contains(&n) {
                    return Err(err(var, format!("must be between {min} and {max}")));
                }
                Ok(n)
            };
        let smtp_url = match lookup("APP_SMTP_URL") {
            Some(v) if !v.trim().is_empty() => {
                let v = v.trim().to_owned();
                let ok = url::Url::parse(&v)
                    .is_ok_and(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some());
                if !ok {
                    return Err(err(
                        "APP_SMTP_URL",
                        "must be smtp://host:port or smtps://host:port",
                    ));
                }
                Some(Secret::new(v))
            }
            _ => None,
        };
        let mail_from = lookup("APP_MAIL_FROM").unwrap_or(d.mail_from);
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(
                "APP_MAIL_FROM",
                "must be an address like keydesk <no-reply@example.com>",
            ));
        }
        Ok(Self {
            smtp_url,
            mail_from,
            digest_interval: Duration::from_secs(num(
                "APP_DIGEST_INTERVAL_SECS",
                86_400,
                1,
                30 * 86_400,
            )?),
            webhook_allow_private: match lookup("APP_WEBHOOK_ALLOW_PRIVATE").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(err("APP_WEBHOOK_ALLOW_PRIVATE", "must be true or false")),
            },
            worker: match lookup("APP_NOTIFY_WORKER").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => return Err(err("APP_NOTIFY_WORKER", "must be on or off")),
            },
            poll: Duration::from_millis(num("APP_NOTIFY_POLL_MS", 2000, 10, 600_000)?),
            backoff: Duration::from_millis(num("APP_NOTIFY_BACKOFF_MS", 30_000, 10, 3_600_000)?),
            max_attempts: num("APP_NOTIFY_MAX_ATTEMPTS", 8, 1, 50)? as u32,
            detect_every: Duration::from_millis(num(
                "APP_NOTIFY_DETECT_MS",
                60_000,
                100,
                3_600_000,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<NotifySettings, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        NotifySettings::from_lookup(&|k: &str| m.get(k).cloned())
    }

    #[test]
    fn defaults_and_bad_values() {
        let s = load(&[]).unwrap();
        assert!(!s.email_enabled() && s.worker && !s.webhook_allow_private);
        assert_eq!(s.digest_interval, Duration::from_secs(86_400));
        let s = load(&[("APP_SMTP_URL", "smtps://u:secretpw@mail.example.com:465")]).unwrap();
        assert!(s.email_enabled());
        assert!(!format!("{s:?}").contains("secretpw"));
        for (var, value) in [
            ("APP_SMTP_URL", "http://secretpw@x"),
            ("APP_MAIL_FROM", "not an address"),
            ("APP_DIGEST_INTERVAL_SECS", "0"),
            ("APP_WEBHOOK_ALLOW_PRIVATE", "yes"),
            ("APP_NOTIFY_WORKER", "maybe"),
            ("APP_NOTIFY_MAX_ATTEMPTS", "1000"),
            ("APP_NOTIFY_DETECT_MS", "5"),
        ] {
            let e = load(&[(var, value)]).unwrap_err().to_string();
            assert!(e.contains(var) && !e.contains("secretpw"), "{e}");
        }
    }
}
