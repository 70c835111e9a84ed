//! The `wallets` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::wallets;
use crate::domain::{AuditAction, WalletKind};

/// A wallet row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wallets)]
pub struct Wallet {
    /// Row id.
    pub id: Uuid,
    /// The account that owns it.
    pub account_id: Uuid,
    /// base58 address.
    pub address: String,
    /// Self-custodied, embedded or custodial.
    pub kind: WalletKind,
    /// When it was linked.
    pub linked_at: DateTime<Utc>,
}

/// An account's wallets, oldest first.
pub async fn list_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<Vec<Wallet>> {
    wallets::table
        .filter(wallets::account_id.eq(account))
        .order((wallets::linked_at.asc(), wallets::id.asc()))
        .select(Wallet::as_select())
        .load(conn)
        .await
}

/// Adds a wallet to an account. Fails with a unique violation when the address is linked anywhere.
pub async fn insert_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    address: &str,
    kind: WalletKind,
) -> QueryResult<Wallet> {
    diesel::insert_into(wallets::table)
        .values((
            wallets::account_id.eq(account),
            wallets::address.eq(address),
            wallets::kind.eq(kind),
        ))
        .returning(Wallet::as_returning())
        .get_result(conn)
        .await
}

/// A challenge row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::wallet_challenges)]
pub struct Challenge {
    /// Id (in the form).
    pub id: Uuid,
    /// The account that owns it.
    pub account_id: Uuid,
    /// Address being linked.
    pub address: String,
    /// Exact text to sign.
    pub message: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
    /// When a signature used it, if one did.
    pub used_at: Option<DateTime<Utc>>,
}

impl Challenge {
    /// What the linking rules look at (`domain::challenge`).
    pub fn facts(&self) -> crate::domain::challenge::Challenge {
        crate::domain::challenge::Challenge {
            address: self.address.clone(),
            expires_at: self.expires_at,
            used_at: self.used_at,
        }
    }
}

/// Stores a new challenge for the account.
pub async fn insert_challenge(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    address: &str,
    message: &str,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<Challenge> {
    use super::schema::wallet_challenges as wc;
    diesel::insert_into(wc::table)
        .values((
            wc::account_id.eq(account),
            wc::address.eq(address),
            wc::message.eq(message),
            wc::issued_at.eq(issued_at),
            wc::expires_at.eq(expires_at),
        ))
        .returning(Challenge::as_returning())
        .get_result(conn)
        .await
}

/// One of the account's challenges (another account's is the same as a missing one), with the
/// database's clock to judge it by.
pub async fn find_challenge_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
) -> QueryResult<Option<(Challenge, DateTime<Utc>)>> {
    use super::schema::wallet_challenges as wc;
    wc::table
        .filter(wc::account_id.eq(account))
        .filter(wc::id.eq(id))
        .select((
            Challenge::as_select(),
            diesel::dsl::sql::<diesel::sql_types::Timestamptz>("now()"),
        ))
        .first(conn)
        .await
        .optional()
}

/// What a link attempt did.
#[derive(Debug)]
pub enum LinkOutcome {
    /// When it was linked.
    Linked(Wallet),
    /// The challenge was used (or expired) meanwhile.
    ChallengeUsed,
    /// The address belongs to an account already.
    AddressTaken,
}

/// Consumes the challenge and links the wallet, with its audit event, in one transaction.
pub async fn link_external_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    challenge: Uuid,
    address: &str,
    origin: &super::audit::Origin,
) -> QueryResult<LinkOutcome> {
    use super::schema::wallet_challenges as wc;
    let result = conn
        .transaction(async move |conn| {
            let used = diesel::update(
                wc::table
                    .filter(wc::account_id.eq(account))
                    .filter(wc::id.eq(challenge))
                    .filter(wc::used_at.is_null())
                    .filter(wc::expires_at.gt(diesel::dsl::now)),
            )
            .set(wc::used_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
            if used != 1 {
                return Ok(LinkOutcome::ChallengeUsed);
            }
            let taken: Option<Uuid> = wallets::table
                .filter(wallets::address.eq(address))
                .select(wallets::id)
                .first(conn)
                .await
                .optional()?;
            if taken.is_some() {
                return Err(diesel::result::Error::RollbackTransaction);
            }
            let w = insert_for_account(conn, account, address, WalletKind::External).await?;
            super::audit::record(
                conn,
                super::audit::NewEvent {
                    account_id: Some(account),
                    actor_id: Some(account),
                    action: AuditAction::WalletLinked,
                    key_id: None,
                    detail: serde_json::json!({ "address": address, "kind": WalletKind::External.as_str() }),
                },
                origin,
            )
            .await?;
            Ok(LinkOutcome::Linked(w))
        })
        .await;
    match result {
        Err(diesel::result::Error::RollbackTransaction) => Ok(LinkOutcome::AddressTaken),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(LinkOutcome::AddressTaken),
        other => other,
    }
}

/// One of the account's wallets.
pub async fn find_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
) -> QueryResult<Option<Wallet>> {
    wallets::table
        .filter(wallets::account_id.eq(account))
        .filter(wallets::id.eq(id))
        .select(Wallet::as_select())
        .first(conn)
        .await
        .optional()
}

/// Unlinks one of the account's external wallets, with its audit event. Platform wallets
/// (embedded, custodial) are not the user's to unlink and are never matched.
pub async fn unlink_external_for_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    origin: &super::audit::Origin,
) -> QueryResult<Option<Wallet>> {
    conn.transaction(async move |conn| {
        let removed: Option<Wallet> = diesel::delete(
            wallets::table
                .filter(wallets::account_id.eq(account))
                .filter(wallets::id.eq(id))
                .filter(wallets::kind.eq(WalletKind::External)),
        )
        .returning(Wallet::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        if let Some(w) = &removed {
            super::audit::record(
                conn,
                super::audit::NewEvent {
                    account_id: Some(account),
                    actor_id: Some(account),
                    action: AuditAction::WalletUnlinked,
                    key_id: None,
                    detail: serde_json::json!({ "address": w.address, "kind": w.kind.as_str() }),
                },
                origin,
            )
            .await?;
            // The last self-custodied wallet gone pauses the account's keys: a security notice.
            let externals: i64 = wallets::table
                .filter(wallets::account_id.eq(account))
                .filter(wallets::kind.eq(WalletKind::External))
                .count()
                .get_result(conn)
                .await?;
            if externals == 0 && super::api_keys::count_active_for_account(conn, account).await? > 0
            {
                super::notices::enqueue(
                    conn,
                    super::notices::NewNotice::wallet_unlinked(account, w.id, &w.address),
                )
                .await?;
            }
        }
        Ok(removed)
    })
    .await
}

/// Whether an address is linked to any account.
pub async fn address_linked(
    conn: &mut AsyncPgConnection,
    address: &str,
) -> QueryResult<Option<Uuid>> {
    wallets::table
        .filter(wallets::address.eq(address))
        .select(wallets::account_id)
        .first(conn)
        .await
        .optional()
}
