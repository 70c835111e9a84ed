//! Per-key rate limits: which window a moment falls in (on the database's clock), how long until
//! it ends, and how big a slice of a key's window budget an instance leases at a time.
//!
//! The slice trades statements for fairness: an instance spends its slice in memory (no
//! database write per verification) and what it leased but did not use is lost with the window
//! (never granted twice). A twentieth of the limit keeps that loss small when a client moves
//! between instances (one client alone still gets at least 90 % of the limit), while a key
//! limited far above its load costs one lease per thousand verifications at most.

/// The window a moment falls in: its number and the seconds left in it, from the database's
/// clock in whole seconds since the epoch and the window length.
pub fn window_of(epoch_secs: i64, window_secs: i64) -> (i64, i64) {
    let w = window_secs.max(1);
    let number = epoch_secs.div_euclid(w);
    (number, w - epoch_secs.rem_euclid(w))
}

/// The slice leased at a time for a key limited to `limit` per window.
pub fn slice_for(limit: i32) -> i32 {
    (limit / 20).clamp(1, 1_000)
}

/// Parses a limit typed on the key's page: empty = no limit, else 1 … `max`.
pub fn parse_limit(input: &str, max: i32) -> Result<Option<i32>, String> {
    let t = input.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let digits: String = t
        .chars()
        .filter(|c| *c != ',' && *c != '_' && *c != ' ')
        .collect();
    match digits.parse::<i64>() {
        Ok(n) if (1..=i64::from(max)).contains(&n) => Ok(Some(n as i32)),
        Ok(_) => Err(format!(
            "Choose a limit between 1 and {max} requests a minute, or leave it empty for none."
        )),
        Err(_) => {
            Err("Enter a whole number of requests a minute, or leave it empty for none.".into())
        }
    }
}

/// Whether going from `from` to `to` lets more requests through (a higher limit, or none):
/// that needs the recent password; a lower limit never does.
pub fn loosens(from: Option<i32>, to: Option<i32>) -> bool {
    match (from, to) {
        (Some(_), None) => true,
        (Some(a), Some(b)) => b > a,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_numbered_and_counted_down() {
        assert_eq!(window_of(120, 60), (2, 60));
        assert_eq!(window_of(179, 60), (2, 1));
        assert_eq!(window_of(7, 5), (1, 3));
    }

    #[test]
    fn slices_are_a_twentieth_within_bounds() {
        assert_eq!(slice_for(1), 1);
        assert_eq!(slice_for(600), 30);
        assert_eq!(slice_for(1_000_000), 1_000);
    }

    #[test]
    fn limits_parse_with_clear_errors() {
        assert_eq!(parse_limit("", 6000), Ok(None));
        assert_eq!(parse_limit(" 1,200 ", 6000), Ok(Some(1200)));
        assert!(
            parse_limit("0", 6000)
                .unwrap_err()
                .contains("between 1 and 6000")
        );
        assert!(parse_limit("6001", 6000).is_err());
        assert!(
            parse_limit("lots", 6000)
                .unwrap_err()
                .contains("whole number")
        );
        assert!(parse_limit(&"9".repeat(40), 6000).is_err());
    }

    #[test]
    fn raising_or_removing_loosens_lowering_does_not() {
        assert!(loosens(Some(100), Some(200)));
        assert!(loosens(Some(100), None));
        assert!(!loosens(Some(100), Some(50)));
        assert!(!loosens(None, Some(50)));
        assert!(!loosens(None, None));
    }
}
