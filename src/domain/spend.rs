//! Spend caps: what the platform asks before it moves a key owner's money (`POST
//! /api/v1/spend`), parsed and bounded, and the pure judgement of one spend against a key's caps
//! per UTC day and month (database clock; the sums come from the database).

use super::Scope;

/// The largest amount one spend may ask for, in US cents (10^10 = 100 million dollars).
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000_000;

/// Characters of an idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// Characters of a description (shown to the owner as text).
pub const MAX_DESCRIPTION: usize = 140;

/// A spend as asked, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendAsk {
    /// The scope it is made under, as sent (a scope the key lacks is refused, not an error).
    pub scope: String,
    /// How much, in US cents.
    pub amount_cents: i64,
    /// The caller's key for retries: the same one gets the same answer, counted once.
    pub idempotency_key: String,
    /// What it is for, in the caller's words (may be empty).
    pub description: String,
}

impl SpendAsk {
    /// Checks the fields of a spend request; the error is the `error_description` of a 400.
    pub fn parse(
        scope: Option<&str>,
        amount: Option<&str>,
        idempotency_key: Option<&str>,
        description: Option<&str>,
    ) -> Result<Self, &'static str> {
        let scope = scope
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or("scope is required")?;
        if scope.chars().count() > 64 {
            return Err("scope takes at most 64 characters");
        }
        let amount_cents: i64 = amount
            .ok_or("amount_cents is required")?
            .trim()
            .parse()
            .map_err(|_| "amount_cents must be a whole number of US cents")?;
        if !(1..=MAX_AMOUNT_CENTS).contains(&amount_cents) {
            return Err("amount_cents must be between 1 and 10000000000");
        }
        let idempotency_key = idempotency_key
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or("idempotency_key is required")?;
        if idempotency_key.chars().count() > MAX_IDEMPOTENCY_KEY {
            return Err("idempotency_key takes at most 64 characters");
        }
        let description = description.unwrap_or("").trim();
        if description.chars().count() > MAX_DESCRIPTION {
            return Err("description takes at most 140 characters");
        }
        if [scope, idempotency_key, description]
            .iter()
            .any(|v| v.chars().any(char::is_control))
        {
            return Err(
                "scope, idempotency_key and description must not contain control characters",
            );
        }
        Ok(Self {
            scope: scope.to_owned(),
            amount_cents,
            idempotency_key: idempotency_key.to_owned(),
            description: description.to_owned(),
        })
    }

    /// The key's scope this spend is made under, if the key has it.
    pub fn scope_of(&self, key_scopes: &[Scope]) -> Option<Scope> {
        Scope::parse(&self.scope).filter(|s| key_scopes.contains(s))
    }
}

/// Why a spend was not allowed (beyond the key check's own refusals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendRefusal {
    /// The key does not have the scope.
    ScopeMissing,
    /// It would pass the cap of the UTC day.
    DailyCap,
    /// It would pass the cap of the UTC month.
    MonthlyCap,
}

impl SpendRefusal {
    /// The wire code.
    pub fn as_str(self) -> &'static str {
        match self {
            SpendRefusal::ScopeMissing => "scope_missing",
            SpendRefusal::DailyCap => "daily_cap",
            SpendRefusal::MonthlyCap => "monthly_cap",
        }
    }
}

/// A key's caps for one scope, in cents (None = no cap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// Per UTC day.
    pub day: Option<i64>,
    /// Per UTC month.
    pub month: Option<i64>,
}

/// Reserved so far in the current UTC day and month, in cents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    /// Today.
    pub day: i64,
    /// This month.
    pub month: i64,
}

/// What is left under each cap (None where there is none).
pub fn remaining(caps: Caps, spent: Spent) -> (Option<i64>, Option<i64>) {
    (
        caps.day.map(|c| (c - spent.day).max(0)),
        caps.month.map(|c| (c - spent.month).max(0)),
    )
}

/// Whether `amount` fits under both caps (the day's is judged first).
pub fn judge(caps: Caps, spent: Spent, amount: i64) -> Result<(), SpendRefusal> {
    if caps.day.is_some_and(|c| spent.day + amount > c) {
        return Err(SpendRefusal::DailyCap);
    }
    if caps.month.is_some_and(|c| spent.month + amount > c) {
        return Err(SpendRefusal::MonthlyCap);
    }
    Ok(())
}

/// Whether going from `from` to `to` lets more be spent: a cap raised or removed (needs the
/// recent password); a lower or a new cap never does.
pub fn loosens(from: Caps, to: Caps) -> bool {
    let one = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(_), None) => true,
        (Some(x), Some(y)) => y > x,
        (None, _) => false,
    };
    one(from.day, to.day) || one(from.month, to.month)
}

/// Parses a cap typed in dollars (`12.50`, `1,200`; empty = no cap) into cents.
pub fn parse_dollars(input: &str) -> Result<Option<i64>, String> {
    let t: String = input
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '$' && *c != ' ')
        .collect();
    if t.is_empty() {
        return Ok(None);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 8
        && whole.chars().all(|c| c.is_ascii_digit())
        && frac.len() <= 2
        && frac.chars().all(|c| c.is_ascii_digit());
    if !ok {
        return Err(
            "Enter an amount in US dollars, like 50 or 12.50, or leave it empty for no cap.".into(),
        );
    }
    let cents =
        whole.parse::<i64>().unwrap_or(0) * 100 + format!("{frac:0<2}").parse::<i64>().unwrap_or(0);
    if !(1..=MAX_AMOUNT_CENTS).contains(&cents) {
        return Err("A cap must be between $0.01 and $100,000,000.".into());
    }
    Ok(Some(cents))
}

/// Cents as dollars for people: `$1,234.50`.
pub fn dollars(cents: i64) -> String {
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("${grouped}.{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_are_bounded_with_clear_errors() {
        let ok = SpendAsk::parse(
            Some("vm.buy.crypto"),
            Some("1250"),
            Some("order-1"),
            Some("Coke"),
        )
        .unwrap();
        assert_eq!(ok.amount_cents, 1250);
        for (scope, amount, idem, desc, says) in [
            (None, Some("1"), Some("a"), None, "scope is required"),
            (Some("s"), None, Some("a"), None, "amount_cents is required"),
            (Some("s"), Some("0"), Some("a"), None, "between 1 and"),
            (
                Some("s"),
                Some("10000000001"),
                Some("a"),
                None,
                "between 1 and",
            ),
            (Some("s"), Some("1.5"), Some("a"), None, "whole number"),
            (
                Some("s"),
                Some("1"),
                None,
                None,
                "idempotency_key is required",
            ),
        ] {
            assert!(
                SpendAsk::parse(scope, amount, idem, desc)
                    .unwrap_err()
                    .contains(says),
                "{says}"
            );
        }
        let long = "x".repeat(65);
        assert!(SpendAsk::parse(Some("s"), Some("1"), Some(&long), None).is_err());
        assert!(SpendAsk::parse(Some("s"), Some("1"), Some("a\u{0}b"), None).is_err());
        assert!(SpendAsk::parse(Some("s"), Some("1"), Some("a"), Some("tab\there")).is_err());
        let long = "x".repeat(141);
        assert!(SpendAsk::parse(Some("s"), Some("1"), Some("a"), Some(&long)).is_err());
    }

    #[test]
    fn dollars_parse_and_print_and_raising_loosens() {
        assert_eq!(parse_dollars(""), Ok(None));
        assert_eq!(parse_dollars("$1,200.5"), Ok(Some(120_050)));
        assert_eq!(parse_dollars("0.01"), Ok(Some(1)));
        assert!(parse_dollars("0").is_err());
        assert!(parse_dollars("1.234").is_err());
        assert!(parse_dollars("abc").is_err());
        assert_eq!(dollars(123_450), "$1,234.50");
        assert_eq!(dollars(5), "$0.05");
        let c = |d, m| Caps { day: d, month: m };
        assert!(loosens(c(Some(100), None), c(Some(200), None)));
        assert!(loosens(c(Some(100), Some(5)), c(Some(100), None)));
        assert!(!loosens(c(None, None), c(Some(1), Some(1))));
        assert!(!loosens(c(Some(100), Some(500)), c(Some(50), Some(500))));
    }

    #[test]
    fn caps_are_judged_day_first_to_the_cent() {
        let caps = Caps {
            day: Some(1_000),
            month: Some(5_000),
        };
        assert_eq!(
            judge(
                caps,
                Spent {
                    day: 900,
                    month: 900
                },
                100
            ),
            Ok(())
        );
        assert_eq!(
            judge(
                caps,
                Spent {
                    day: 900,
                    month: 900
                },
                101
            ),
            Err(SpendRefusal::DailyCap)
        );
        assert_eq!(
            judge(
                caps,
                Spent {
                    day: 0,
                    month: 4_999
                },
                2
            ),
            Err(SpendRefusal::MonthlyCap)
        );
        assert_eq!(
            judge(
                Caps::default(),
                Spent { day: 10, month: 10 },
                MAX_AMOUNT_CENTS
            ),
            Ok(())
        );
        assert_eq!(
            remaining(
                caps,
                Spent {
                    day: 1_200,
                    month: 100
                }
            ),
            (Some(0), Some(4_900))
        );
    }
}
