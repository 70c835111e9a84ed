//! How times are shown: in the user's zone, with the zone named, and relative when recent.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Parses a stored IANA zone name, falling back to UTC for anything unknown.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// `22 Dec 2026, 14:00`.
pub fn local_datetime(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%-d %b %Y, %H:%M").to_string()
}

/// `22 Dec 2026`.
pub fn local_date(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%-d %b %Y").to_string()
}

/// `2026-12-22T14:00` for a `datetime-local` input.
pub fn local_input(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// "just now", "4 minutes ago", "in 5 days", "3 months ago".
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    let future = secs > 0;
    let s = secs.abs();
    let amount = if s < 60 {
        return if future {
            "in less than a minute".into()
        } else {
            "just now".into()
        };
    } else if s < 3600 {
        plural(s / 60, "minute")
    } else if s < 86_400 {
        plural(s / 3600, "hour")
    } else if s < 86_400 * 60 {
        plural(s / 86_400, "day")
    } else if s < 86_400 * 730 {
        plural(s / (86_400 * 30), "month")
    } else {
        plural(s / (86_400 * 365), "year")
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(relative(now - Duration::seconds(5), now), "just now");
        assert_eq!(relative(now - Duration::minutes(4), now), "4 minutes ago");
        assert_eq!(relative(now - Duration::minutes(61), now), "1 hour ago");
        assert_eq!(
            relative(now + Duration::days(5) + Duration::seconds(1), now),
            "in 5 days"
        );
        assert_eq!(relative(now - Duration::days(3), now), "3 days ago");
        assert_eq!(relative(now - Duration::days(400), now), "13 months ago");
        assert_eq!(relative(now + Duration::days(800), now), "in 2 years");
    }

    #[test]
    fn local_times_use_the_zone() {
        let t = Utc.with_ymd_and_hms(2026, 12, 22, 13, 0, 0).unwrap();
        assert_eq!(
            local_datetime(t, chrono_tz::Europe::Berlin),
            "22 Dec 2026, 14:00"
        );
        assert_eq!(local_date(t, Tz::UTC), "22 Dec 2026");
        assert_eq!(
            local_input(t, chrono_tz::Europe::Berlin),
            "2026-12-22T14:00"
        );
        assert_eq!(zone("Mars/Base"), Tz::UTC);
        assert_eq!(zone("Europe/Berlin"), chrono_tz::Europe::Berlin);
    }
}
