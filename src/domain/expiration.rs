//! A key's expiration as chosen in the create and change-expiration forms.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The last year a custom expiry may fall in (it must lie before 1 January of the next).
pub const LAST_YEAR: i32 = 2099;

/// The `max` of the custom date input: the last minute of `LAST_YEAR`.
pub const CUSTOM_MAX_INPUT: &str = "2099-12-31T23:59";

/// The raw form fields.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ExpirationInput {
    /// `never`, `7`, `30`, `60`, `90`, `180`, `365` or `custom`.
    #[serde(default)]
    pub expiration: String,
    /// `YYYY-MM-DDTHH:MM` in the user's zone, when `custom`.
    #[serde(default)]
    pub custom_expiration: String,
}

impl ExpirationInput {
    /// The preset's number of days, when a preset (not never or custom) was chosen.
    pub fn preset_days(&self) -> Option<i16> {
        PRESETS
            .iter()
            .find(|(value, _)| *value == self.expiration)
            .and_then(|(value, _)| value.parse().ok())
    }
}

/// The choice (form value) that repeats an expiry set from `expiry_days`: the preset, never, or
/// custom.
pub fn choice_for(expires_at: Option<DateTime<Utc>>, expiry_days: Option<i16>) -> String {
    match (expires_at, expiry_days) {
        (None, _) => "never".into(),
        (Some(_), Some(d)) if PRESETS.iter().any(|(v, _)| *v == d.to_string()) => d.to_string(),
        (Some(_), _) => "custom".into(),
    }
}

/// A validated expiration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiration {
    /// Never expires.
    Never,
    /// Expires at this instant.
    At(DateTime<Utc>),
}

/// The preset choices: form value and label.
pub const PRESETS: [(&str, &str); 7] = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("60", "60 days"),
    ("90", "90 days"),
    ("180", "180 days"),
    ("365", "1 year"),
    ("never", "Never expires"),
];

/// Default preset of the create form.
pub const DEFAULT_PRESET: &str = "30";

impl Expiration {
    /// Parses the form in the user's zone. Custom times must be at least a minute ahead and
    /// before 2100-01-01.
    pub fn parse(input: &ExpirationInput, now: DateTime<Utc>, tz: Tz) -> Result<Self, String> {
        match input.expiration.as_str() {
            "never" => Ok(Expiration::Never),
            "custom" => Self::parse_custom(&input.custom_expiration, now, tz),
            _ => match input.preset_days() {
                Some(days) => Ok(Expiration::At(now + Duration::days(days.into()))),
                None => Err("Choose when the key expires".into()),
            },
        }
    }

    /// The expiry of a key that replaces (rolls) one whose expiry is `expires_at`, set from the
    /// preset `expiry_days` (None: a custom date or never): never stays never, a preset
    /// restarts from now, a custom date is kept while it is at least a minute ahead. None
    /// means the user has to choose.
    pub fn for_successor(
        expires_at: Option<DateTime<Utc>>,
        expiry_days: Option<i16>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        match (expires_at, expiry_days) {
            (None, _) => Some(Expiration::Never),
            (Some(_), Some(days)) => Some(Expiration::At(now + Duration::days(days.into()))),
            (Some(t), None) if t >= now + Duration::minutes(1) => Some(Expiration::At(t)),
            (Some(_), None) => None,
        }
    }

    fn parse_custom(raw: &str, now: DateTime<Utc>, tz: Tz) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("Enter the date and time the key expires".into());
        }
        let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| "Enter the date and time as YYYY-MM-DD HH:MM".to_string())?;
        let local = match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => t,
            // When clocks go back the hour happens twice: take the earlier one.
            LocalResult::Ambiguous(early, _) => early,
            LocalResult::None => {
                return Err(format!(
                    "That time doesn't exist in {} (the clocks change then) — choose another",
                    tz.name()
                ));
            }
        };
        let at = local.with_timezone(&Utc);
        if at < now + Duration::minutes(1) {
            return Err("Expiration must be at least one minute in the future".into());
        }
        let limit = Utc.with_ymd_and_hms(LAST_YEAR + 1, 1, 1, 0, 0, 0).single();
        if limit.is_some_and(|l| at >= l) {
            return Err("Expiration must be before 1 January 2100".into());
        }
        Ok(Expiration::At(at))
    }

    /// The database value.
    pub fn as_option(self) -> Option<DateTime<Utc>> {
        match self {
            Expiration::Never => None,
            Expiration::At(t) => Some(t),
        }
    }
}

/// Whether re-dating a key from `before` to `after` lets it work longer: a later end, or none
/// where it had one (an expired key made active again is one of these). Sudo mode guards it;
/// an earlier end, or the same, only tightens.
pub fn extends(before: Option<DateTime<Utc>>, after: Option<DateTime<Utc>>) -> bool {
    match (before, after) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(b), Some(a)) => a > b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_later_end_or_none_extends_a_key() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let later = t + Duration::seconds(1);
        assert!(extends(Some(t), None), "to never");
        assert!(extends(Some(t), Some(later)), "later");
        assert!(!extends(Some(later), Some(t)), "earlier");
        assert!(!extends(Some(t), Some(t)), "the same");
        assert!(!extends(None, Some(t)), "from never to a date");
        assert!(!extends(None, None), "never stays never");
    }

    fn input(e: &str, c: &str) -> ExpirationInput {
        ExpirationInput {
            expiration: e.into(),
            custom_expiration: c.into(),
        }
    }

    #[test]
    fn presets_count_days_from_now() {
        let now = Utc::now();
        assert_eq!(
            Expiration::parse(&input("never", ""), now, Tz::UTC),
            Ok(Expiration::Never)
        );
        assert_eq!(
            Expiration::parse(&input("30", ""), now, Tz::UTC),
            Ok(Expiration::At(now + Duration::days(30)))
        );
        assert_eq!(
            Expiration::parse(&input("365", ""), now, Tz::UTC),
            Ok(Expiration::At(now + Duration::days(365)))
        );
        assert_eq!(
            Expiration::parse(&input("180", ""), now, Tz::UTC),
            Ok(Expiration::At(now + Duration::days(180)))
        );
        assert_eq!(input("180", "").preset_days(), Some(180));
        assert_eq!(input("never", "").preset_days(), None);
        assert_eq!(input("custom", "").preset_days(), None);
        assert!(Expiration::parse(&input("31", ""), now, Tz::UTC).is_err());
        assert!(Expiration::parse(&input("", ""), now, Tz::UTC).is_err());
    }

    #[test]
    fn a_successor_repeats_never_restarts_a_preset_and_keeps_a_custom_date() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let later = now + Duration::days(3);
        assert_eq!(
            Expiration::for_successor(None, None, now),
            Some(Expiration::Never)
        );
        assert_eq!(
            Expiration::for_successor(Some(later), Some(30), now),
            Some(Expiration::At(now + Duration::days(30)))
        );
        assert_eq!(
            Expiration::for_successor(Some(later), None, now),
            Some(Expiration::At(later))
        );
        let too_close = now + Duration::seconds(59);
        assert_eq!(Expiration::for_successor(Some(too_close), None, now), None);
        assert_eq!(choice_for(None, None), "never");
        assert_eq!(choice_for(Some(later), Some(90)), "90");
        assert_eq!(choice_for(Some(later), None), "custom");
    }

    #[test]
    fn custom_times_are_read_in_the_users_zone() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let got = Expiration::parse(
            &input("custom", "2026-12-22T14:00"),
            now,
            chrono_tz::Europe::Berlin,
        )
        .unwrap();
        assert_eq!(
            got,
            Expiration::At(Utc.with_ymd_and_hms(2026, 12, 22, 13, 0, 0).unwrap())
        );
    }

    #[test]
    fn custom_times_must_be_a_minute_ahead_and_before_2100() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        assert!(Expiration::parse(&input("custom", "2026-11-23T12:00"), now, Tz::UTC).is_err());
        assert!(Expiration::parse(&input("custom", "2026-11-23T12:01"), now, Tz::UTC).is_ok());
        assert!(Expiration::parse(&input("custom", "2100-01-01T00:00"), now, Tz::UTC).is_err());
        assert!(Expiration::parse(&input("custom", "2099-12-31T23:59"), now, Tz::UTC).is_ok());
        assert!(Expiration::parse(&input("custom", ""), now, Tz::UTC).is_err());
        assert!(Expiration::parse(&input("custom", "tomorrow"), now, Tz::UTC).is_err());
        assert!(Expiration::parse(&input("custom", "2026-13-01T10:00"), now, Tz::UTC).is_err());
    }

    #[test]
    fn a_time_skipped_by_daylight_saving_is_refused() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let e = Expiration::parse(
            &input("custom", "2027-03-28T02:30"),
            now,
            chrono_tz::Europe::Berlin,
        )
        .unwrap_err();
        assert!(e.contains("doesn't exist"), "{e}");
    }
}
