//! Revoking keys whose secret got out: reported by GitHub's secret scanning, by an operator,
//! or by anyone holding the secret. A whole batch is decided with a fixed number of
//! statements (find every match, revoke the live ones, write their audit events), in one
//! transaction, however many tokens it carries.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::audit::Origin;
use crate::db::schema::{api_keys, audit_events};
use crate::domain::{AuditAction, KeyHash, RevokeReason};

/// One reported secret, already hashed (the secret itself never reaches the database), with
/// where it was seen.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// The key hash of the reported secret.
    pub hash: KeyHash,
    /// Where it was found (bounded by the caller), if said.
    pub url: Option<String>,
    /// What kind of place that is (bounded by the caller), if said.
    pub source: Option<String>,
}

/// A key this report revoked.
#[derive(Debug, Clone, QueryableByName)]
pub struct Revoked {
    /// Key id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Its owner.
    #[diesel(sql_type = SqlUuid)]
    pub account_id: Uuid,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Its display prefix.
    #[diesel(sql_type = Text)]
    pub prefix: String,
    /// Where it was found, as kept.
    #[diesel(sql_type = Nullable<Text>)]
    pub url: Option<String>,
    /// What kind of place, as kept.
    #[diesel(sql_type = Nullable<Text>)]
    pub source: Option<String>,
}

/// What a report did.
#[derive(Debug, Default)]
pub struct ExposureReport {
    /// Hashes that belong to a key, revoked now or before (the true positives).
    pub matched: HashSet<[u8; 32]>,
    /// Keys revoked by this report.
    pub revoked: Vec<Revoked>,
}

/// Revokes every key among `sightings` that is not revoked yet — expired keys too, since
/// re-dating one would otherwise bring a leaked secret back to life — with `reason`, the
/// first reported place of each, and one audit event per key (`via` says which route the
/// report came by: `github`, `public`, `operator`), all in one transaction — run again when it
/// loses a race (`db::retry`); an `Err` means nothing was revoked.
///
/// This is where the owner's security notice belongs: enqueue it inside this transaction,
/// for each entry of `revoked`, so a key is never revoked without its notice (nor the other
/// way round).
pub async fn revoke_exposed(
    conn: &mut AsyncPgConnection,
    sightings: &[Sighting],
    reason: RevokeReason,
    via: &'static str,
    origin: &Origin,
) -> QueryResult<ExposureReport> {
    if sightings.is_empty() {
        return Ok(ExposureReport::default());
    }
    let hashes: Vec<Vec<u8>> = sightings.iter().map(|s| s.hash.0.to_vec()).collect();
    let hashes = &hashes;
    crate::db::retry::transaction!(conn, async move |conn| {
        // One query finds every match; the row locks keep a concurrent report from writing
        // a second audit event for the same key. Locked in id order (`db::retry`); the
        // account rows are only needed `FOR KEY SHARE`, which their lock holders allow.
        let found: Vec<(Uuid, Vec<u8>, bool)> = api_keys::table
            .filter(api_keys::hash.eq_any(hashes))
            .select((
                api_keys::id,
                api_keys::hash,
                api_keys::revoked_at.is_not_null(),
            ))
            .order(api_keys::id)
            .for_update()
            .load(conn)
            .await?;
        let mut report = ExposureReport::default();
        let (mut ids, mut urls, mut sources) = (Vec::new(), Vec::new(), Vec::new());
        for (id, hash, revoked) in found {
            let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else {
                continue; // not a hash this version makes: cannot match a reported secret
            };
            report.matched.insert(hash);
            if revoked {
                continue;
            }
            // the first place it was reported at is kept
            let seen = sightings.iter().find(|s| s.hash.0 == hash);
            ids.push(id);
            urls.push(seen.and_then(|s| s.url.clone()));
            sources.push(seen.and_then(|s| s.source.clone()));
        }
        if ids.is_empty() {
            return Ok(report);
        }
        report.revoked = diesel::sql_query(
            "UPDATE api_keys k
                SET revoked_at = now(), revoked_reason = $4,
                    exposed_url = v.url, exposed_source = v.source
               FROM unnest($1, $2, $3) AS v(id, url, source)
              WHERE k.id = v.id AND k.revoked_at IS NULL
          RETURNING k.id, k.account_id, k.name, k.prefix, v.url, v.source",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Nullable<Text>>, _>(&urls)
        .bind::<Array<Nullable<Text>>, _>(&sources)
        .bind::<Text, _>(reason.as_str())
        .load(conn)
        .await?;
        let ua = origin
            .user_agent
            .as_deref()
            .map(|u| u.chars().take(256).collect::<String>());
        let events: Vec<_> = report
            .revoked
            .iter()
            .map(|k| {
                (
                    audit_events::account_id.eq(Some(k.account_id)),
                    audit_events::actor_id.eq(None::<Uuid>),
                    audit_events::action.eq(AuditAction::KeyRevoked),
                    audit_events::key_id.eq(Some(k.id)),
                    audit_events::detail.eq(serde_json::json!({
                        "name": k.name,
                        "prefix": k.prefix,
                        "reason": reason.as_str(),
                        "via": via,
                        "url": k.url,
                        "source": k.source,
                    })),
                    audit_events::ip.eq(origin.ip.clone()),
                    audit_events::user_agent.eq(ua.clone()),
                )
            })
            .collect();
        diesel::insert_into(audit_events::table)
            .values(events)
            .execute(conn)
            .await?;
        // The owner hears of it through the outbox, in this same transaction: a revocation
        // without its notice (or the reverse) can't happen.
        for k in &report.revoked {
            let mut notice = crate::db::notices::NewNotice::key_exposed_revoked(
                k.account_id,
                k.id,
                &k.name,
                &k.prefix,
                k.url.as_deref(),
            );
            notice.payload["reason"] = serde_json::Value::from(reason.as_str());
            crate::db::notices::enqueue(conn, notice).await?;
        }
        Ok(report)
    })
}
