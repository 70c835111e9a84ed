//! Login throttling, per e-mail (`login_throttle`, known e-mails or not, so it reveals nothing)
//! and per client (`login_ip_throttle`); and the per-client limit of the public revoke-by-secret
//! endpoint (`revoke_throttle`). A client is its `client_ip::limit_key` — an IPv4 address, or an
//! IPv6 /64 — kept in the `client_ip` columns. An attempt is counted *before* its password is
//! checked, in one upsert that returns the count, so parallel guesses cannot outrun the limit:
//! the attempt that makes the count exceed it is refused without being checked.
//!
//! Every time here is the database's (`now()`), so several instances agree.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Int4, Int8, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::login_throttle;

/// Whether an attempt may be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead and check the password.
    Allowed,
    /// Over the limit: retry after this many seconds.
    Refused {
        /// Seconds until an attempt may be checked again.
        retry_after: u64,
    },
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Int4)]
    failures: i32,
    #[diesel(sql_type = Bool)]
    locked: bool,
    #[diesel(sql_type = Int8)]
    retry: i64,
}

impl Counted {
    fn admission(&self, max: i32) -> Admission {
        if self.locked || self.failures > max {
            Admission::Refused {
                retry_after: self.retry.max(1) as u64,
            }
        } else {
            Admission::Allowed
        }
    }
}

/// Counts an attempt for `client_ip` (a new window once the old one has passed).
pub async fn admit_ip(
    conn: &mut AsyncPgConnection,
    client_ip: &str,
    max: i32,
    window_secs: i64,
) -> QueryResult<Admission> {
    let c: Counted = diesel::sql_query(
        "INSERT INTO login_ip_throttle AS t (client_ip, failures, window_start)
              VALUES ($1, 1, now())
         ON CONFLICT (client_ip) DO UPDATE SET
              failures = CASE WHEN t.window_start <= now() - make_interval(secs => $2)
                              THEN 1 ELSE t.failures + 1 END,
              window_start = CASE WHEN t.window_start <= now() - make_interval(secs => $2)
                                  THEN now() ELSE t.window_start END
         RETURNING failures, false AS locked,
              ceil(extract(epoch FROM window_start + make_interval(secs => $2) - now()))::int8
                  AS retry",
    )
    .bind::<Text, _>(client_ip)
    .bind::<Int8, _>(window_secs)
    .get_result(conn)
    .await?;
    Ok(c.admission(max))
}

/// The window of the public revoke-by-secret endpoint's per-IP limit.
pub const REVOKE_WINDOW_SECS: i64 = 60;

/// Counts a call to the public revoke-by-secret endpoint for `client_ip` (refused calls
/// count too, so hammering never earns a call), in a fixed one-minute window.
pub async fn admit_revoke(
    conn: &mut AsyncPgConnection,
    client_ip: &str,
    max: i32,
) -> QueryResult<Admission> {
    let c: Counted = diesel::sql_query(
        "INSERT INTO revoke_throttle AS t (client_ip, calls, window_start)
              VALUES ($1, 1, now())
         ON CONFLICT (client_ip) DO UPDATE SET
              calls = CASE WHEN t.window_start <= now() - make_interval(secs => $2)
                           THEN 1 ELSE least(t.calls, 1000000) + 1 END,
              window_start = CASE WHEN t.window_start <= now() - make_interval(secs => $2)
                                  THEN now() ELSE t.window_start END
         RETURNING calls AS failures, false AS locked,
              ceil(extract(epoch FROM window_start + make_interval(secs => $2) - now()))::int8
                  AS retry",
    )
    .bind::<Text, _>(client_ip)
    .bind::<Int8, _>(REVOKE_WINDOW_SECS)
    .get_result(conn)
    .await?;
    Ok(c.admission(max))
}

/// Gives back an IP's attempt (the login succeeded, or was never checked).
pub async fn give_back_ip(conn: &mut AsyncPgConnection, client_ip: &str) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE login_ip_throttle SET failures = greatest(failures - 1, 0) WHERE client_ip = $1",
    )
    .bind::<Text, _>(client_ip)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Gives back both attempts of a login that was admitted but never checked (the server was
/// too busy to check it).
pub async fn give_back(
    conn: &mut AsyncPgConnection,
    email_lower: &str,
    client_ip: &str,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE email_lower = $1",
    )
    .bind::<Text, _>(email_lower)
    .execute(conn)
    .await?;
    give_back_ip(conn, client_ip).await
}

/// Counts an attempt for an e-mail, unless it is locked (a locked e-mail is refused until the
/// lock ends, and refused attempts don't extend it).
pub async fn admit_email(
    conn: &mut AsyncPgConnection,
    email_lower: &str,
    max: i32,
    window_secs: i64,
) -> QueryResult<Admission> {
    let c: Counted = diesel::sql_query(
        "INSERT INTO login_throttle AS t (email_lower, failures, window_start)
              VALUES ($1, 1, now())
         ON CONFLICT (email_lower) DO UPDATE SET
              failures = CASE WHEN t.locked_until > now() THEN t.failures
                              WHEN t.window_start <= now() - make_interval(secs => $2) THEN 1
                              ELSE t.failures + 1 END,
              window_start = CASE WHEN t.locked_until > now() THEN t.window_start
                                  WHEN t.window_start <= now() - make_interval(secs => $2)
                                  THEN now() ELSE t.window_start END
         RETURNING failures, coalesce(locked_until > now(), false) AS locked,
              ceil(extract(epoch FROM
                  CASE WHEN locked_until > now() THEN locked_until
                       ELSE window_start + make_interval(secs => $2) END - now()))::int8 AS retry",
    )
    .bind::<Text, _>(email_lower)
    .bind::<Int8, _>(window_secs)
    .get_result(conn)
    .await?;
    Ok(c.admission(max))
}

/// After a wrong password: once `max` attempts are in the window, locks the e-mail for the
/// window. Returns the seconds of the lock when this failure set it.
pub async fn failed_email(
    conn: &mut AsyncPgConnection,
    email_lower: &str,
    max: i32,
    window_secs: i64,
) -> QueryResult<Option<u64>> {
    let locked = diesel::sql_query(
        "UPDATE login_throttle
            SET locked_until = now() + make_interval(secs => $3), failures = 0,
                window_start = now()
          WHERE email_lower = $1 AND failures >= $2
            AND (locked_until IS NULL OR locked_until <= now())",
    )
    .bind::<Text, _>(email_lower)
    .bind::<Int4, _>(max)
    .bind::<Int8, _>(window_secs)
    .execute(conn)
    .await?;
    Ok((locked == 1).then_some(window_secs.max(1) as u64))
}

/// Clears an e-mail's counter after a successful login.
pub async fn clear(conn: &mut AsyncPgConnection, email_lower: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(email_lower))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Rows whose window and lock have both passed (for the pruning task).
pub async fn prune(
    conn: &mut AsyncPgConnection,
    window_secs: i64,
    batch: i64,
) -> QueryResult<usize> {
    let emails = diesel::sql_query(
        "DELETE FROM login_throttle WHERE email_lower IN (
             SELECT email_lower FROM login_throttle
              WHERE window_start <= now() - make_interval(secs => $1)
                AND (locked_until IS NULL OR locked_until <= now())
              LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Int8, _>(window_secs)
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await?;
    let ips = diesel::sql_query(
        "DELETE FROM login_ip_throttle WHERE client_ip IN (
             SELECT client_ip FROM login_ip_throttle
              WHERE window_start <= now() - make_interval(secs => $1)
              LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Int8, _>(window_secs)
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await?;
    let revokes = diesel::sql_query(
        "DELETE FROM revoke_throttle WHERE client_ip IN (
             SELECT client_ip FROM revoke_throttle
              WHERE window_start <= now() - make_interval(secs => $1)
              LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Int8, _>(REVOKE_WINDOW_SECS)
    .bind::<Int8, _>(batch)
    .execute(conn)
    .await?;
    Ok(emails + ips + revokes)
}
