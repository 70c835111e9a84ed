//! The `login_throttle` table: failed logins per e-mail, known or not.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::login_throttle;

/// When the e-mail is locked out, until when.
pub async fn locked_until(
    conn: &mut AsyncPgConnection,
    email_lower: &str,
) -> QueryResult<Option<DateTime<Utc>>> {
    let until: Option<Option<DateTime<Utc>>> = login_throttle::table
        .find(email_lower)
        .select(login_throttle::locked_until)
        .first(conn)
        .await
        .optional()?;
    Ok(until.flatten().filter(|t| *t > Utc::now()))
}

/// Counts a failure (resetting the window when it has passed); locks the e-mail for `window`
/// once `max` failures fall inside one window. Returns the lock's end if it is now locked.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    email_lower: &str,
    max: i32,
    window_secs: i64,
) -> QueryResult<Option<DateTime<Utc>>> {
    use diesel::sql_types::{Int4, Int8, Text};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Int4)]
        failures: i32,
    }
    let count: Count = diesel::sql_query(
        "INSERT INTO login_throttle AS t (email_lower, failures, window_start)
              VALUES ($1, 1, now())
         ON CONFLICT (email_lower) DO UPDATE SET
              failures = CASE WHEN t.window_start < now() - make_interval(secs => $2)
                              THEN 1 ELSE t.failures + 1 END,
              window_start = CASE WHEN t.window_start < now() - make_interval(secs => $2)
                                  THEN now() ELSE t.window_start END
         RETURNING failures",
    )
    .bind::<Text, _>(email_lower)
    .bind::<Int8, _>(window_secs)
    .get_result(conn)
    .await?;
    if count.failures < max {
        return Ok(None);
    }
    let until = Utc::now() + chrono::Duration::seconds(window_secs);
    diesel::update(login_throttle::table.find(email_lower))
        .set((
            login_throttle::locked_until.eq(until),
            login_throttle::failures.eq(0),
            login_throttle::window_start.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(Some(until))
}

/// Clears the counter after a successful login.
pub async fn clear(conn: &mut AsyncPgConnection, email_lower: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(email_lower))
        .execute(conn)
        .await
        .map(|_| ())
}
