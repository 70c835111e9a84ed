//! The file of an export, streamed: one page of `db::export::PAGE_ROWS` rows is read, written
//! as one chunk and sent before the next is read, so an export of 90 days holds at most one
//! page in memory. Each page takes a pooled connection only for its one query: a client that
//! reads slowly holds no connection while it reads.
//!
//! The first page is read before the response starts, so a database that is down answers 503
//! like any page. A failure after that can only cut the file short (the status is sent): it is
//! logged, and the connection is closed without the closing `]` a JSON reader needs.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::export::{
    AuditRow, PAGE_ROWS, UsageRow, audit_page_for_account, usage_page_for_account,
};
use crate::domain::csv::csv_record;
use crate::domain::export::{Export, Format, What};
use crate::domain::usage::Outcome;
use crate::error::AppError;

/// Whose rows, and which.
pub struct Source {
    /// The pool each page takes a connection from.
    pub pool: DbPool,
    /// The account (every query is filtered by it).
    pub account: Uuid,
    /// Include support staff's own events in the audit trail (support's export only).
    pub staff_events: bool,
    /// What, as what, which days.
    pub export: Export,
}

enum Rows {
    Usage(Vec<UsageRow>),
    Audit(Vec<AuditRow>),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::Usage(r) => r.len(),
            Rows::Audit(r) => r.len(),
        }
    }
}

/// Where the next page starts.
#[derive(Clone, Copy)]
enum Cursor {
    Start,
    Usage((DateTime<Utc>, Uuid, Outcome)),
    Audit((DateTime<Utc>, i64)),
}

struct Feed {
    source: Source,
    cursor: Cursor,
    /// The page read before the response started.
    first: Option<Rows>,
    /// The header row or `[` is written.
    begun: bool,
    /// A JSON row is written (the next needs a comma).
    any_row: bool,
    done: bool,
}

async fn fetch(source: &Source, cursor: Cursor) -> Result<Rows, AppError> {
    let mut conn = source.pool.get().await?;
    let range = (source.export.start, source.export.end);
    Ok(match source.export.what {
        What::Usage => {
            let after = match cursor {
                Cursor::Usage(c) => Some(c),
                _ => None,
            };
            Rows::Usage(
                usage_page_for_account(&mut conn, source.account, range, after, PAGE_ROWS).await?,
            )
        }
        What::Audit => {
            let after = match cursor {
                Cursor::Audit(c) => Some(c),
                _ => None,
            };
            Rows::Audit(
                audit_page_for_account(
                    &mut conn,
                    source.account,
                    source.staff_events,
                    range,
                    after,
                    PAGE_ROWS,
                )
                .await?,
            )
        }
    })
}

/// The streamed file, named `filename` (plain ASCII: `Export::filename`).
pub async fn response(source: Source, filename: &str) -> Result<HttpResponse, AppError> {
    let first = fetch(&source, Cursor::Start).await?;
    let format = source.export.format;
    let feed = Feed {
        source,
        cursor: Cursor::Start,
        first: Some(first),
        begun: false,
        any_row: false,
        done: false,
    };
    let stream = futures_util::stream::try_unfold(feed, next_chunk);
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(stream))
}

async fn next_chunk(mut feed: Feed) -> Result<Option<(Bytes, Feed)>, AppError> {
    if feed.done {
        return Ok(None);
    }
    let rows = match feed.first.take() {
        Some(rows) => rows,
        None => fetch(&feed.source, feed.cursor).await.inspect_err(|e| {
            tracing::error!(error = %e, "an export was cut short");
        })?,
    };
    let format = feed.source.export.format;
    let mut out = Vec::with_capacity(rows.len() * 160 + 160);
    if !feed.begun {
        feed.begun = true;
        match (format, &rows) {
            (Format::Json, _) => out.push(b'['),
            (Format::Csv, Rows::Usage(_)) => csv_record(&mut out, USAGE_COLUMNS),
            (Format::Csv, Rows::Audit(_)) => csv_record(&mut out, AUDIT_COLUMNS),
        }
    }
    let full = rows.len() as i64 >= PAGE_ROWS;
    match rows {
        Rows::Usage(rows) => {
            for r in &rows {
                feed.write_usage(&mut out, r);
            }
            if let Some(last) = rows.last() {
                feed.cursor = Cursor::Usage(last.cursor());
            }
        }
        Rows::Audit(rows) => {
            for r in &rows {
                feed.write_audit(&mut out, r);
            }
            if let Some(last) = rows.last() {
                feed.cursor = Cursor::Audit(last.cursor());
            }
        }
    }
    if !full {
        feed.done = true;
        if format == Format::Json {
            out.extend_from_slice(b"\n]\n");
        }
    }
    Ok(Some((Bytes::from(out), feed)))
}

const USAGE_COLUMNS: &[&str] = &["hour", "key_id", "key_name", "key", "outcome", "requests"];
const AUDIT_COLUMNS: &[&str] = &[
    "time",
    "id",
    "action",
    "description",
    "actor",
    "key_id",
    "ip",
    "user_agent",
    "detail",
];

fn utc(t: DateTime<Utc>, precision: SecondsFormat) -> String {
    t.to_rfc3339_opts(precision, true)
}

impl Feed {
    fn json_row(&mut self, out: &mut Vec<u8>, value: &serde_json::Value) {
        if self.any_row {
            out.push(b',');
        }
        self.any_row = true;
        out.push(b'\n');
        // a Value always serializes; nothing to lose by ignoring the impossible error
        let _ = serde_json::to_writer(&mut *out, value);
    }

    fn write_usage(&mut self, out: &mut Vec<u8>, r: &UsageRow) {
        let hour = utc(r.hour, SecondsFormat::Secs);
        let key = crate::domain::key::display(&r.prefix, r.tail.as_deref());
        match self.source.export.format {
            Format::Csv => csv_record(
                out,
                &[
                    &hour,
                    &r.key_id.to_string(),
                    &r.name,
                    &key,
                    r.outcome.as_str(),
                    &r.requests.to_string(),
                ],
            ),
            Format::Json => self.json_row(
                out,
                &serde_json::json!({
                    "hour": hour,
                    "key_id": r.key_id,
                    "key_name": r.name,
                    "key": key,
                    "outcome": r.outcome.as_str(),
                    "requests": r.requests,
                }),
            ),
        }
    }

    fn write_audit(&mut self, out: &mut Vec<u8>, r: &AuditRow) {
        let time = utc(r.created_at, SecondsFormat::Micros);
        let description = r.action.describe(&r.detail);
        match self.source.export.format {
            Format::Csv => csv_record(
                out,
                &[
                    &time,
                    &r.id.to_string(),
                    r.action.as_str(),
                    &description,
                    r.actor_email.as_deref().unwrap_or_default(),
                    &r.key_id.map(|k| k.to_string()).unwrap_or_default(),
                    r.ip.as_deref().unwrap_or_default(),
                    r.user_agent.as_deref().unwrap_or_default(),
                    &r.detail.to_string(),
                ],
            ),
            Format::Json => self.json_row(
                out,
                &serde_json::json!({
                    "time": time,
                    "id": r.id,
                    "action": r.action.as_str(),
                    "description": description,
                    "actor": r.actor_email,
                    "key_id": r.key_id,
                    "ip": r.ip,
                    "user_agent": r.user_agent,
                    "detail": r.detail,
                }),
            ),
        }
    }
}
