//! The worker's side of the outbox: claim due deliveries (`FOR UPDATE SKIP LOCKED`, so
//! instances never claim the same row), then mark each delivered, due again later, failed or
//! skipped. A claim pushes the row's due time forward by a lease and commits at once, so no
//! transaction stays open while a mail or webhook is sent, and a sender that dies mid-way
//! leaves its rows to come back when the lease ends (receivers dedupe on the notice id).
//! Also the operator listing and the queue depth.

use chrono::{DateTime, Utc};
use diesel::sql_types::{
    Array, BigInt, Double, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::notice::{Channel, NoticeKind};

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Claimed {
    /// Delivery row.
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub id: i64,
    /// The notice (its id is the stable id receivers dedupe on).
    #[diesel(sql_type = SqlUuid)]
    pub notice_id: Uuid,
    /// E-mail or webhook (in-app notices have no delivery rows).
    #[diesel(sql_type = Text)]
    pub channel: Channel,
    /// Attempts including this one.
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    /// The account told.
    #[diesel(sql_type = SqlUuid)]
    pub account_id: Uuid,
    /// What the notice tells.
    #[diesel(sql_type = Text)]
    pub kind: NoticeKind,
    /// Details.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub payload: serde_json::Value,
    /// When the notice was made.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// The account's e-mail.
    #[diesel(sql_type = Text)]
    pub email: String,
    /// The account's zone.
    #[diesel(sql_type = Text)]
    pub time_zone: String,
}

/// Claims up to `batch` due deliveries on `channel` for `lease_secs`, fairly: at most one per
/// account (each account's oldest due row, the accounts taken in the order their rows came
/// due), and none of the accounts in `busy` (those this worker is already sending to). So an
/// account with a thousand pending rows gets one send at a time while every other account's
/// rows go out beside it.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    channel: Channel,
    busy: &[Uuid],
    batch: i64,
    lease_secs: f64,
) -> diesel::QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "/* keydesk background */ WITH heads AS (
             SELECT DISTINCT ON (n.account_id) d.id, d.next_attempt_at
               FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
              WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND d.channel = $1
                AND n.account_id <> ALL($2)
              ORDER BY n.account_id, d.next_attempt_at, d.id),
         due AS (
             SELECT d.id FROM notice_deliveries d JOIN heads h ON h.id = d.id
              WHERE d.status = 'pending' AND d.next_attempt_at <= now()
              ORDER BY h.next_attempt_at
              LIMIT $3 FOR UPDATE OF d SKIP LOCKED)
         UPDATE notice_deliveries d
            SET attempts = d.attempts + 1,
                next_attempt_at = now() + make_interval(secs => $4)
           FROM due, notices n, users u
          WHERE d.id = due.id AND n.id = d.notice_id AND u.id = n.account_id
      RETURNING d.id, d.notice_id, d.channel, d.attempts, n.account_id, n.kind, n.payload,
                n.created_at, u.email, u.time_zone",
    )
    .bind::<Text, _>(channel)
    .bind::<Array<SqlUuid>, _>(busy)
    .bind::<BigInt, _>(batch)
    .bind::<Double, _>(lease_secs)
    .load(conn)
    .await
}

/// Pending deliveries on `channel` one account may have; what it enqueues beyond them (other
/// than security notices) is recorded as skipped, so one account cannot grow the queue that
/// every account shares.
pub const MAX_PENDING_PER_ACCOUNT: i64 = 50;

/// The account's pending deliveries on `channel`.
pub async fn pending_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    channel: Channel,
) -> diesel::QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
          WHERE n.account_id = $1 AND d.channel = $2 AND d.status = 'pending'",
    )
    .bind::<SqlUuid, _>(account)
    .bind::<Text, _>(channel)
    .get_result(conn)
    .await?;
    Ok(c.n)
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Sent.
    Delivered,
    /// Failed; try again after this many seconds.
    Retry(f64, String),
    /// Failed for good (attempts used up, or nothing to retry).
    Failed(String),
    /// The channel is not set up; nothing was sent.
    Skipped(String),
}

/// Records how the attempt on delivery `id` ended.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    id: i64,
    attempt: &Attempt,
) -> diesel::QueryResult<()> {
    let (status, delay, error) = match attempt {
        Attempt::Delivered => ("delivered", 0.0, None),
        Attempt::Retry(secs, e) => ("pending", *secs, Some(e.as_str())),
        Attempt::Failed(e) => ("failed", 0.0, Some(e.as_str())),
        Attempt::Skipped(e) => ("skipped", 0.0, Some(e.as_str())),
    };
    let error: Option<String> = error.map(|e| e.chars().take(500).collect());
    diesel::sql_query(
        "UPDATE notice_deliveries
            SET status = $2,
                next_attempt_at = CASE WHEN $2 = 'pending' THEN now() + make_interval(secs => $3)
                                       ELSE next_attempt_at END,
                last_error = coalesce($4, last_error),
                finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
          WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(status)
    .bind::<Double, _>(delay)
    .bind::<Nullable<Text>, _>(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery as the operator listing shows it.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Listed {
    /// Delivery row.
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub id: i64,
    /// The notice.
    #[diesel(sql_type = SqlUuid)]
    pub notice_id: Uuid,
    /// What it tells.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// The account's e-mail.
    #[diesel(sql_type = Text)]
    pub email: String,
    /// Channel.
    #[diesel(sql_type = Text)]
    pub channel: String,
    /// Status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Attempts so far.
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    /// Next attempt (pending rows).
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    /// When the notice was made.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Deliveries in the given statuses, oldest first, at most `limit`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    statuses: &[&str],
    limit: i64,
) -> diesel::QueryResult<Vec<Listed>> {
    diesel::sql_query(
        "SELECT d.id, d.notice_id, n.kind, u.email, d.channel, d.status, d.attempts,
                d.next_attempt_at, d.last_error, d.created_at
           FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
           JOIN users u ON u.id = n.account_id
          WHERE d.status = ANY($1)
          ORDER BY d.created_at, d.id
          LIMIT $2",
    )
    .bind::<Array<Text>, _>(statuses)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

#[derive(diesel::QueryableByName)]
struct Depth {
    #[diesel(sql_type = Text)]
    channel: Channel,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Pending deliveries per channel `(channel, count)`.
pub async fn queue_depth(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<(Channel, i64)>> {
    let rows: Vec<Depth> = diesel::sql_query(
        "/* keydesk background */ SELECT channel, count(*) AS n FROM notice_deliveries WHERE status = 'pending' GROUP BY channel",
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|d| (d.channel, d.n)).collect())
}

/// The deliveries of one notice `(channel, status, attempts)` (tests and the operator).
pub async fn for_notice(
    conn: &mut AsyncPgConnection,
    notice: Uuid,
) -> diesel::QueryResult<Vec<(String, String, i32)>> {
    use crate::db::schema::notice_deliveries as d;
    use diesel::{ExpressionMethods, QueryDsl};
    d::table
        .filter(d::notice_id.eq(notice))
        .select((d::channel, d::status, d::attempts))
        .load(conn)
        .await
}
