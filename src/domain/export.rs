//! Exports (SPEC §15): an account's usage (per key, hour and outcome) or its audit trail, as
//! CSV or JSON, for a range of whole days. The days are read in the time zone of the person
//! exporting (their settings); the times inside the file are UTC (RFC 3339, `Z`). Also the file
//! name (how a value becomes a CSV field is `domain::csv`).

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

/// Longest range, in days (both ends included): what usage is kept for.
pub const MAX_DAYS: i64 = 90;
/// The range when none is given: the last 30 days, today included.
pub const DEFAULT_DAYS: i64 = 30;

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// `key_usage_hourly` rows of the account's keys.
    Usage,
    /// The account's `audit_events`.
    Audit,
}

impl What {
    /// Every value, in the order forms offer them.
    pub const ALL: [What; 2] = [What::Usage, What::Audit];

    /// The code in the query string and the file name.
    pub fn as_str(self) -> &'static str {
        match self {
            What::Usage => "usage",
            What::Audit => "audit",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<What> {
        What::ALL.into_iter().find(|w| w.as_str() == s)
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            What::Usage => "Usage (per key, hour and outcome)",
            What::Audit => "Activity (the audit trail)",
        }
    }
}

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 with a header row, CRLF line ends.
    Csv,
    /// One JSON array of objects.
    Json,
}

impl Format {
    /// Every value, in the order forms offer them.
    pub const ALL: [Format; 2] = [Format::Csv, Format::Json];

    /// The code in the query string; also the file's extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Json => "JSON",
        }
    }

    /// The `Content-Type` of the file.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// A valid export request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export {
    /// What.
    pub what: What,
    /// As what.
    pub format: Format,
    /// First day (in the exporting person's zone).
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// The first day's start, UTC.
    pub start: DateTime<Utc>,
    /// The day after the last day's start, UTC (exclusive).
    pub end: DateTime<Utc>,
}

/// What was wrong with each field (None: fine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportErrors {
    /// The `what` field.
    pub what: Option<String>,
    /// The `format` field.
    pub format: Option<String>,
    /// The `from` field.
    pub from: Option<String>,
    /// The `to` field.
    pub to: Option<String>,
    /// The two dates together (order, length).
    pub range: Option<String>,
}

impl ExportErrors {
    /// Every message, in form order (for a plain summary).
    pub fn all(&self) -> Vec<&str> {
        [&self.what, &self.format, &self.from, &self.to, &self.range]
            .into_iter()
            .filter_map(|m| m.as_deref())
            .collect()
    }
}

/// The default first day: `DEFAULT_DAYS` back, today included.
pub fn default_from(today: NaiveDate) -> NaiveDate {
    today - Duration::days(DEFAULT_DAYS - 1)
}

fn parse_date(raw: &str, default: NaiveDate, which: &str) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(default);
    }
    let bad = || format!("Enter the {which} date as YYYY-MM-DD, e.g. {default}");
    // `%Y` alone would take a sign and more than four digits
    if raw.len() != 10 {
        return Err(bad());
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad())?;
    if !(2000..=9998).contains(&day.year()) {
        return Err(format!(
            "Choose a {which} date between the years 2000 and 9998"
        ));
    }
    Ok(day)
}

/// The start of `day` in `tz`, in UTC. When midnight does not exist there (clocks jump
/// forward at midnight in a few zones), the day starts at the first instant that does.
pub fn day_start(day: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    let midnight = day.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => (1..=4).find_map(|h| {
            tz.from_local_datetime(&(midnight + Duration::hours(h)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }),
    }
}

/// Parses an export request: `what` (`usage`, `audit`) and `format` (`csv`, `json`; empty =
/// CSV) and the days `from`..=`to` (`YYYY-MM-DD` in `tz`; empty = the last 30 days up to
/// `today`). At most `MAX_DAYS` days, `to` not before `from`. Every field is checked, so the
/// form can say everything that is wrong at once.
pub fn parse(
    what: &str,
    format: &str,
    from: &str,
    to: &str,
    tz: Tz,
    today: NaiveDate,
) -> Result<Export, ExportErrors> {
    let mut errors = ExportErrors::default();
    let what = What::parse(what.trim());
    if what.is_none() {
        errors.what = Some("Choose what to export: usage or activity".into());
    }
    let format = match format.trim() {
        "" => Some(Format::Csv),
        f => Format::parse(f),
    };
    if format.is_none() {
        errors.format = Some("Choose a format: CSV or JSON".into());
    }
    let from = parse_date(from, default_from(today), "start")
        .map_err(|e| errors.from = Some(e))
        .ok();
    let to = parse_date(to, today, "end")
        .map_err(|e| errors.to = Some(e))
        .ok();
    if let (Some(from), Some(to)) = (from, to) {
        let days = (to - from).num_days() + 1;
        if days < 1 {
            errors.range = Some(format!(
                "The end date is before the start date — choose an end on or after {from}"
            ));
        } else if days > MAX_DAYS {
            errors.range = Some(format!(
                "That is {days} days; an export covers at most {MAX_DAYS} days — choose a shorter range"
            ));
        }
    }
    let bounds = from
        .zip(to)
        .and_then(|(f, t)| Some((day_start(f, tz)?, day_start(t.succ_opt()?, tz)?)));
    if bounds.is_none() && errors.all().is_empty() {
        errors.range = Some(format!("Those dates can't be read in {}", tz.name()));
    }
    match (what, format, from, to, bounds) {
        (Some(what), Some(format), Some(from), Some(to), Some((start, end)))
            if errors.all().is_empty() =>
        {
            Ok(Export {
                what,
                format,
                from,
                to,
                start,
                end,
            })
        }
        _ => Err(errors),
    }
}

impl Export {
    /// `keydesk-<what>-<account>-<from>-<to>.<ext>`: the account by the local part of its
    /// e-mail (only `A–Z a–z 0–9 . _ -` kept, others become `_`), or its id when nothing is
    /// left. Always plain ASCII, so it can be quoted in `Content-Disposition` as it is.
    pub fn filename(&self, email: &str, account: Uuid) -> String {
        let local = email.split('@').next().unwrap_or_default();
        let mut name: String = local
            .chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.trim_matches(['_', '.']).is_empty() {
            name = account.to_string();
        }
        format!(
            "keydesk-{}-{}-{}-{}.{}",
            self.what.as_str(),
            name,
            self.from,
            self.to,
            self.format.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn codes_round_trip() {
        for w in What::ALL {
            assert_eq!(What::parse(w.as_str()), Some(w));
        }
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(What::parse("keys"), None);
        assert_eq!(Format::parse("xml"), None);
    }

    #[test]
    fn empty_dates_are_the_last_30_days_and_format_defaults_to_csv() {
        let today = day("2026-12-10");
        let e = parse("usage", "", "", "", Tz::UTC, today).unwrap();
        assert_eq!((e.from, e.to), (day("2026-11-11"), today));
        assert_eq!(e.format, Format::Csv);
        assert_eq!(e.start.to_rfc3339(), "2026-11-11T00:00:00+00:00");
        assert_eq!(e.end.to_rfc3339(), "2026-12-11T00:00:00+00:00");
    }

    #[test]
    fn days_are_read_in_the_zone_given() {
        let e = parse(
            "audit",
            "json",
            "2026-07-01",
            "2026-07-01",
            chrono_tz::Europe::Berlin,
            day("2026-12-10"),
        )
        .unwrap();
        assert_eq!(e.start.to_rfc3339(), "2026-06-30T22:00:00+00:00");
        assert_eq!(e.end.to_rfc3339(), "2026-07-01T22:00:00+00:00");
    }

    #[test]
    fn ninety_days_pass_ninety_one_do_not_and_the_end_may_not_precede_the_start() {
        let today = day("2026-12-10");
        assert!(parse("usage", "csv", "2026-09-12", "2026-12-10", Tz::UTC, today).is_ok());
        let e = parse("usage", "csv", "2026-09-11", "2026-12-10", Tz::UTC, today).unwrap_err();
        assert!(e.range.unwrap().contains("91 days"));
        let e = parse("usage", "csv", "2026-12-10", "2026-12-09", Tz::UTC, today).unwrap_err();
        assert!(e.range.unwrap().contains("before the start"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = parse(
            "keys",
            "xml",
            "12/01/2026",
            "+20000-01-01",
            Tz::UTC,
            day("2026-12-10"),
        )
        .unwrap_err();
        assert!(e.what.is_some() && e.format.is_some() && e.from.is_some() && e.to.is_some());
        assert_eq!(e.all().len(), 4);
        let e = parse("usage", "csv", "1999-01-01", "", Tz::UTC, day("2026-12-10")).unwrap_err();
        assert!(e.from.unwrap().contains("2000"));
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_it_can() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2022-09-11
        let t = day_start(day("2022-09-11"), chrono_tz::America::Santiago).unwrap();
        assert_eq!(t.to_rfc3339(), "2022-09-11T04:00:00+00:00");
    }

    #[test]
    fn the_file_is_named_after_the_account_and_the_range() {
        let e = parse(
            "usage",
            "json",
            "2026-11-01",
            "2026-11-30",
            Tz::UTC,
            day("2026-12-10"),
        )
        .unwrap();
        let id = Uuid::nil();
        assert_eq!(
            e.filename("ana@example.com", id),
            "keydesk-usage-ana-2026-11-01-2026-11-30.json"
        );
        assert_eq!(
            e.filename("\"a b\"\\@x", id),
            "keydesk-usage-_a_b__-2026-11-01-2026-11-30.json"
        );
        assert_eq!(
            e.filename("üï@x", id),
            format!("keydesk-usage-{id}-2026-11-01-2026-11-30.json")
        );
    }
}
