//! Usage of a key: the outcome of each verification whose hash matched it, counted per hour,
//! and the sums and series the detail page shows (24 h / 7 d / 30 d; hourly and daily).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use chrono_tz::Tz;

use super::AuthFailure;

text_enum! {
    /// How a verification of a known key ended.
    #[derive(Hash, PartialOrd, Ord)]
    pub enum Outcome {
        /// Accepted.
        Ok = "ok",
        /// Refused: revoked.
        Revoked = "revoked",
        /// Refused: expired.
        Expired = "expired",
        /// Refused: the account's keys are paused.
        AccountNotEligible = "account_not_eligible",
        /// Refused: paused by its owner.
        Paused = "paused",
        /// Refused: outside the key's enforced allow list (or no address to judge).
        IpNotAllowed = "ip_not_allowed",
        /// Refused: over the key's rate limit.
        RateLimited = "rate_limited",
    }
}

impl Outcome {
    /// The outcome of a refusal of a key whose hash matched (None for the others: their keys
    /// are unknown, so there is nothing to count them against).
    pub fn of_refusal(f: AuthFailure) -> Option<Outcome> {
        match f {
            AuthFailure::Revoked => Some(Outcome::Revoked),
            AuthFailure::Expired => Some(Outcome::Expired),
            AuthFailure::AccountNotEligible => Some(Outcome::AccountNotEligible),
            AuthFailure::Paused => Some(Outcome::Paused),
            AuthFailure::IpNotAllowed | AuthFailure::ClientIpRequired => {
                Some(Outcome::IpNotAllowed)
            }
            AuthFailure::RateLimited => Some(Outcome::RateLimited),
            AuthFailure::Missing | AuthFailure::Malformed | AuthFailure::Unknown => None,
        }
    }

    /// The column heading.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "Accepted",
            Outcome::Revoked => "Refused: revoked",
            Outcome::Expired => "Refused: expired",
            Outcome::AccountNotEligible => "Refused: account paused",
            Outcome::Paused => "Refused: key paused",
            Outcome::IpNotAllowed => "Refused: address not allowed",
            Outcome::RateLimited => "Refused: rate limited",
        }
    }
}

/// The start of the UTC hour `t` falls in.
pub fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::hours(1)).unwrap_or(t)
}

/// Requests by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([i64; Outcome::ALL.len()]);

impl Counts {
    /// Adds `n` requests with `outcome`.
    pub fn add(&mut self, outcome: Outcome, n: i64) {
        self.0[outcome as usize] += n;
    }
    /// Requests with `outcome`.
    pub fn get(&self, outcome: Outcome) -> i64 {
        self.0[outcome as usize]
    }
    /// Accepted.
    pub fn ok(&self) -> i64 {
        self.get(Outcome::Ok)
    }
    /// Refused, for any reason.
    pub fn refused(&self) -> i64 {
        self.total() - self.ok()
    }
    /// Every request.
    pub fn total(&self) -> i64 {
        self.0.iter().sum()
    }
}

/// One bar of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Where the bar starts (UTC).
    pub start: DateTime<Utc>,
    /// The local day, for daily bars.
    pub day: Option<NaiveDate>,
    /// Its requests.
    pub counts: Counts,
}

/// A key's usage, as the detail page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Last 24 hours (the current hour and the 23 before it).
    pub last_24h: Counts,
    /// Last 7 days.
    pub last_7d: Counts,
    /// Last 30 days.
    pub last_30d: Counts,
    /// 24 hourly bars, oldest first.
    pub hourly: Vec<Bucket>,
    /// 30 daily bars in the viewer's zone, oldest first.
    pub daily: Vec<Bucket>,
}

impl Usage {
    /// Sums hourly rows `(hour, outcome, requests)` into windows ending with the hour `now`
    /// falls in, and bars by hour and by local day.
    pub fn from_rows(rows: &[(DateTime<Utc>, Outcome, i64)], now: DateTime<Utc>, tz: Tz) -> Self {
        let current = hour_of(now);
        let hourly_from = current - Duration::hours(23);
        let mut hourly: Vec<Bucket> = (0..24)
            .map(|i| Bucket {
                start: hourly_from + Duration::hours(i),
                day: None,
                counts: Counts::default(),
            })
            .collect();
        let today = now.with_timezone(&tz).date_naive();
        let mut days: BTreeMap<NaiveDate, Counts> = (0..30)
            .map(|i| (today - Duration::days(29 - i), Counts::default()))
            .collect();
        let (mut d1, mut d7, mut d30) = (Counts::default(), Counts::default(), Counts::default());
        for &(hour, outcome, n) in rows {
            let age = current - hour;
            if age < Duration::zero() {
                continue;
            }
            if age < Duration::hours(24) {
                d1.add(outcome, n);
                let i = (age.num_hours()) as usize;
                hourly[23 - i].counts.add(outcome, n);
            }
            if age < Duration::days(7) {
                d7.add(outcome, n);
            }
            if age < Duration::days(30) {
                d30.add(outcome, n);
            }
            if let Some(c) = days.get_mut(&hour.with_timezone(&tz).date_naive()) {
                c.add(outcome, n);
            }
        }
        let daily = days
            .into_iter()
            .map(|(day, counts)| Bucket {
                start: current,
                day: Some(day),
                counts,
            })
            .collect();
        Self {
            last_24h: d1,
            last_7d: d7,
            last_30d: d30,
            hourly,
            daily,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows_and_bars_add_up() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 13, 20, 0).unwrap();
        let h = |hours_ago: i64| hour_of(now) - Duration::hours(hours_ago);
        let rows = vec![
            (h(0), Outcome::Ok, 3),
            (h(0), Outcome::Revoked, 2),
            (h(23), Outcome::Ok, 1),
            (h(24), Outcome::Ok, 10),
            (h(24 * 8), Outcome::Expired, 5),
            (h(24 * 31), Outcome::Ok, 100),
        ];
        let u = Usage::from_rows(&rows, now, Tz::UTC);
        assert_eq!((u.last_24h.ok(), u.last_24h.refused()), (4, 2));
        assert_eq!(u.last_7d.total(), 16);
        assert_eq!(u.last_30d.total(), 21);
        assert_eq!(u.hourly.len(), 24);
        assert_eq!(u.hourly[23].counts.total(), 5);
        assert_eq!(u.hourly[0].counts.total(), 1);
        let hourly_sum: i64 = u.hourly.iter().map(|b| b.counts.total()).sum();
        assert_eq!(hourly_sum, u.last_24h.total());
        assert_eq!(u.daily.len(), 30);
        let daily_sum: i64 = u.daily.iter().map(|b| b.counts.total()).sum();
        assert_eq!(daily_sum, 21, "the 31-day-old row is outside the 30 days");
    }

    #[test]
    fn outcomes_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::of_refusal(AuthFailure::Unknown), None);
        assert_eq!(
            Outcome::of_refusal(AuthFailure::Expired),
            Some(Outcome::Expired)
        );
    }
}

/// One key's latest use, as the "last used" recorder buffers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUse {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// From where, when known.
    pub client_ip: Option<String>,
    /// With which user agent, when known.
    pub user_agent: Option<String>,
}
