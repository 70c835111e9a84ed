//! What the owner and support staff read about a key revoked because its secret got out:
//! why, where it was found (the reported URL as text, never a link), when, and what to do.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::db::api_keys::KeyRow;
use crate::domain::RevokeReason;
use crate::domain::time::{local_datetime, relative};

/// A key revoked because it was found exposed or reported as leaked.
pub struct ExposureView {
    /// Found in public code (true) or revoked by someone holding it (false).
    pub exposed: bool,
    /// One sentence saying what happened.
    pub summary: &'static str,
    /// The reported URL, as text (empty when none was reported).
    pub url: String,
    /// Where it was found (content, commit, gist, operator…), empty when not reported.
    pub source: String,
    /// When it was revoked (local, zone named).
    pub when: String,
    /// When, relative ("4 minutes ago").
    pub when_relative: String,
}

impl ExposureView {
    /// The view of `k`, when it was revoked for exposure.
    pub fn of(k: &KeyRow, tz: Tz, now: DateTime<Utc>) -> Option<Self> {
        let (reason, at) = (k.revoked_reason?, k.revoked_at?);
        Some(Self {
            exposed: reason == RevokeReason::Exposed,
            summary: match reason {
                RevokeReason::Exposed => {
                    "This key's secret was found in a public place, so keydesk revoked it at once. Requests with it are refused."
                }
                RevokeReason::Reported => {
                    "Someone holding this key's secret reported it as leaked, so it was revoked at once. Requests with it are refused."
                }
            },
            url: k.exposed_url.clone().unwrap_or_default(),
            source: k.exposed_source.clone().unwrap_or_default(),
            when: format!("{} ({})", local_datetime(at, tz), tz.name()),
            when_relative: relative(at, now),
        })
    }
}
