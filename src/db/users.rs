//! The `users` table: accounts, roles, the API-keys flag.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::users;
use crate::domain::Role;

/// An account row (the password hash is loaded only where login needs it).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Account id.
    pub id: Uuid,
    /// Login e-mail.
    pub email: String,
    /// Member or support staff.
    pub role: Role,
    /// IANA zone.
    pub time_zone: String,
    /// Operator flag.
    pub api_keys_enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

use super::lower;

/// Finds an account by e-mail, case-insensitively, with its password hash.
pub async fn find_with_hash_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<(User, String)>> {
    users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select((User::as_select(), users::password_hash))
        .first(conn)
        .await
        .optional()
}

/// Finds an account by e-mail, case-insensitively.
pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Finds an account by id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the account row for the rest of the transaction: serialises every change that can
/// make a key active (the 10-key limit). `FOR NO KEY UPDATE`, not `FOR UPDATE`: a revoke that
/// holds a key row and inserts its audit event needs `FOR KEY SHARE` on this row (the foreign
/// key), which this lock lets through, so the two never wait for each other (`db::retry`).
pub async fn lock_for_no_key_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

/// Creates an account.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    email: &str,
    password_hash: &str,
    role: Role,
) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email),
            users::password_hash.eq(password_hash),
            users::role.eq(role),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

/// Replaces an account's password hash.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    password_hash: &str,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
        .await
}

/// Sets an account's role.
pub async fn set_role(conn: &mut AsyncPgConnection, id: Uuid, role: Role) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::role.eq(role))
        .execute(conn)
        .await
}

/// Turns the operator flag on or off.
pub async fn set_api_keys_enabled(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    on: bool,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::api_keys_enabled.eq(on))
        .execute(conn)
        .await
}

/// Sets the account's time zone (already validated as an IANA name).
pub async fn set_time_zone(conn: &mut AsyncPgConnection, id: Uuid, tz: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::time_zone.eq(tz))
        .execute(conn)
        .await
}

/// Accounts whose e-mail starts with `prefix` (case-insensitive), by e-mail.
pub async fn search_by_email_prefix(
    conn: &mut AsyncPgConnection,
    prefix: &str,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<User>> {
    let escaped = prefix
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    users::table
        .filter(lower(users::email).like(format!("{escaped}%")))
        .order(users::email.asc())
        .limit(limit)
        .offset(offset)
        .select(User::as_select())
        .load(conn)
        .await
}

/// Accounts by id, in any order.
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(User::as_select())
        .load(conn)
        .await
}
