//! Server-rendered bar charts of a key's usage: plain SVG geometry computed here (no chart
//! library, no script, no inline style: bars are `<rect>`s with classes), each bar titled with
//! its numbers, and the same numbers as table rows for screen readers and JS-off readers.

use chrono_tz::Tz;

use crate::domain::usage::Bucket;

/// Width of the drawing area (viewBox units).
const WIDTH: f64 = 720.0;
/// Height of the tallest bar.
const HEIGHT: f64 = 120.0;
/// The baseline's y.
pub const BASELINE: f64 = 130.0;

/// One bar: an accepted part with a refused part stacked on top.
pub struct Bar {
    /// Left edge.
    pub x: String,
    /// Width.
    pub width: String,
    /// Top of the accepted part.
    pub ok_y: String,
    /// Height of the accepted part.
    pub ok_height: String,
    /// Top of the refused part.
    pub refused_y: String,
    /// Height of the refused part.
    pub refused_height: String,
    /// "13:00 – 14:00: 5 accepted, 2 refused".
    pub title: String,
    /// Row label in the table ("13:00", "2 Dec").
    pub label: String,
    /// Accepted.
    pub ok: i64,
    /// Refused, for any reason (the summary table above splits them by reason).
    pub refused: i64,
}

/// A chart: its bars, the largest bar's total (the scale), and whether anything happened.
pub struct Chart {
    /// Bars, oldest first.
    pub bars: Vec<Bar>,
    /// The top of the scale.
    pub max: i64,
    /// Any request at all.
    pub any: bool,
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

impl Chart {
    /// Lays out `buckets`; `label` names each bucket for its title and table row.
    pub fn new(buckets: &[Bucket], label: impl Fn(&Bucket) -> String) -> Self {
        let max = buckets.iter().map(|b| b.counts.total()).max().unwrap_or(0);
        let scale = HEIGHT / max.max(1) as f64;
        let slot = WIDTH / buckets.len().max(1) as f64;
        let bars = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let c = &b.counts;
                let ok_h = c.ok() as f64 * scale;
                let refused_h = c.refused() as f64 * scale;
                let name = label(b);
                Bar {
                    x: fmt(i as f64 * slot + 1.0),
                    width: fmt((slot - 2.0).max(1.0)),
                    ok_y: fmt(BASELINE - ok_h),
                    ok_height: fmt(ok_h),
                    refused_y: fmt(BASELINE - ok_h - refused_h),
                    refused_height: fmt(refused_h),
                    title: format!("{name}: {} accepted, {} refused", c.ok(), c.refused()),
                    label: name,
                    ok: c.ok(),
                    refused: c.refused(),
                }
            })
            .collect();
        Self {
            bars,
            max,
            any: max > 0,
        }
    }

    /// The last 24 hours, labelled by local hour.
    pub fn hourly(buckets: &[Bucket], tz: Tz) -> Self {
        Self::new(buckets, |b| {
            b.start.with_timezone(&tz).format("%H:00").to_string()
        })
    }

    /// The last 30 days, labelled by local date.
    pub fn daily(buckets: &[Bucket]) -> Self {
        Self::new(buckets, |b| {
            b.day
                .map(|d| d.format("%-d %b").to_string())
                .unwrap_or_default()
        })
    }
}
