//! One account cannot delay or silence another's notices (issue #25, items 1 and 2): a flood of
//! test events at a receiver that never answers, a backlog of webhook deliveries, thousands of
//! broken alert rules, thousands of keys due in the digest. Real SMTP (aiosmtpd), a real hung
//! HTTP endpoint, real receivers.

use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use keydesk::config::Secret;
use keydesk::db::notices::{self, NewNotice, outbox};
use keydesk::domain::notice::NoticeKind;
use uuid::Uuid;

use crate::helpers::*;
use crate::listeners::{HangingReceiver, Receiver, SmtpSink, eventually, readable};

/// Sets the logged-in account's webhook; returns the page's status.
async fn set_webhook(app: &TestApp, url: &str) -> u16 {
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/settings/notifications/webhook",
            &[("csrf_token", &token), ("url", url)],
        )
        .await;
    res.status().as_u16()
}

/// Presses "send test event" once; returns the status.
async fn press_test(app: &TestApp, token: &str) -> u16 {
    app.post_form(
        "/settings/notifications/webhook/test",
        &[("csrf_token", token)],
    )
    .await
    .status()
    .as_u16()
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The account's webhook deliveries in `status`.
async fn deliveries_in(app: &TestApp, account: Uuid, status: &str) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
          WHERE n.account_id = $1 AND d.status = $2 AND d.channel = 'webhook'",
    )
    .bind::<SqlUuid, _>(account)
    .bind::<diesel::sql_types::Text, _>(status)
    .get_result::<Count>(&mut app.conn().await)
    .await
    .unwrap()
    .n
}

/// The account's notices of `kind`.
async fn notices_of_kind(app: &TestApp, account: Uuid, kind: NoticeKind) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM notices WHERE account_id = $1 AND kind = $2")
        .bind::<SqlUuid, _>(account)
        .bind::<diesel::sql_types::Text, _>(kind.as_str())
        .get_result::<Count>(&mut app.conn().await)
        .await
        .unwrap()
        .n
}

#[tokio::test]
async fn a_flood_of_test_events_at_a_hung_receiver_does_not_delay_another_accounts_security_mail() {
    let sink = SmtpSink::start().await;
    let hung = HangingReceiver::start().await;
    let smtp = sink.url.clone();
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.notify.worker = true;
        s.notify.webhook_allow_private = true;
        s.notify.smtp_url = Some(Secret::new(smtp));
        s.notify.mail_from = "keydesk <no-reply@keydesk.test>".into();
        s.notify.backoff = Duration::from_secs(30);
    })
    .await;
    let flooder = app.eligible_user_logged_in().await;
    assert_eq!(set_webhook(&app, &hung.url).await, 200);
    let token = app.csrf().await;
    let mut statuses = Vec::new();
    for _ in 0..200 {
        statuses.push(press_test(&app, &token).await);
    }
    let queued = statuses.iter().filter(|s| **s == 303).count() as i64;
    assert_eq!(queued, notices::TEST_EVENTS_PER_MINUTE, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 303 || *s == 429));
    let refused = app
        .post_form(
            "/settings/notifications/webhook/test",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap(),
        "60"
    );
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("at most 5 test events a minute")
    );
    assert_eq!(
        notices_of_kind(&app, flooder.id, NoticeKind::WebhookTest).await,
        5
    );

    // meanwhile another account's key is reported exposed: its security e-mail goes out at once
    let victim = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("victim-bot").await;
    let started = Instant::now();
    let res = app
        .client
        .post(format!("{}/api/v1/keys/revoke", app.address))
        .json(&serde_json::json!({ "keys": [secret] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let arrived = eventually(30, || async {
        sink.messages()
            .iter()
            .any(|m| readable(m).contains(&victim.email))
    })
    .await;
    assert!(
        arrived,
        "the victim's security e-mail must arrive within 30 s"
    );
    eprintln!("security e-mail after {:?}", started.elapsed());
    assert!(
        hung.accepted() >= 1,
        "the flood did reach the hung receiver"
    );
}

#[tokio::test]
async fn a_backlog_at_a_hung_webhook_costs_one_slot_and_another_accounts_webhook_goes_out() {
    let hung = HangingReceiver::start().await;
    let good = Receiver::start(&[]).await;
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.notify.worker = true;
        s.notify.webhook_allow_private = true;
        s.notify.backoff = Duration::from_secs(30);
    })
    .await;
    let busy = app.eligible_user_logged_in().await;
    assert_eq!(set_webhook(&app, &hung.url).await, 200);
    // 60 usage alerts for the busy account (not security notices): 50 wait, the rest are kept
    // as skipped
    let mut c = app.conn().await;
    for i in 0..60 {
        let notice = NewNotice {
            account_id: busy.id,
            kind: NoticeKind::UsageAlert,
            key_id: None,
            idempotency_key: format!("flood:{}:{i}", busy.id),
            payload: serde_json::json!({
                "name": "bot", "prefix": "phy_abcdefgh", "rule": "requests_per_hour",
                "threshold": 1, "requests": 2, "refused": 0,
            }),
        };
        notices::enqueue(&mut c, notice).await.unwrap().unwrap();
    }
    assert_eq!(
        deliveries_in(&app, busy.id, "pending").await,
        outbox::MAX_PENDING_PER_ACCOUNT
    );
    assert_eq!(deliveries_in(&app, busy.id, "skipped").await, 10);
    // a security notice still queues past the cap
    let sec = NewNotice::key_exposed_revoked(busy.id, Uuid::new_v4(), "bot", "phy_abcdefgh", None);
    notices::enqueue(&mut c, sec).await.unwrap().unwrap();
    assert_eq!(deliveries_in(&app, busy.id, "pending").await, 51);

    let other = app.eligible_user_logged_in().await;
    assert_eq!(set_webhook(&app, &good.url).await, 200);
    let token = app.csrf().await;
    assert_eq!(press_test(&app, &token).await, 303);
    assert!(
        eventually(8, || async { good.received().len() == 1 }).await,
        "another account's webhook must not wait behind the hung backlog"
    );
    assert!(
        hung.accepted() <= 2,
        "one account holds one send slot at a time, not the lane: {} connections",
        hung.accepted()
    );
    // recorded as delivered once the worker has written the outcome
    assert!(
        eventually(5, || async {
            deliveries_in(&app, other.id, "delivered").await == 1
        })
        .await
    );
}

/// Inserts `n` keys for `account` straight into the table (`expires` as SQL, `revoked`), with
/// `requests` uses in the current hour each when given.
async fn bulk_keys(
    app: &TestApp,
    account: Uuid,
    n: i64,
    expires: &str,
    revoked: bool,
    requests: Option<i64>,
) {
    let mut c = app.conn().await;
    diesel::sql_query(format!(
        "INSERT INTO api_keys (account_id, name, prefix, hash, scopes, expires_at, revoked_at)
         SELECT $1, 'bulk-' || g, 'phy_' || lpad(g::text, 8, '0'),
                convert_to(gen_random_uuid()::text, 'UTF8'), ARRAY['vm.buy.crypto'], {expires},
                CASE WHEN {revoked} THEN now() END
           FROM generate_series(1, $2) g"
    ))
    .bind::<SqlUuid, _>(account)
    .bind::<BigInt, _>(n)
    .execute(&mut c)
    .await
    .unwrap();
    if let Some(r) = requests {
        diesel::sql_query(
            "INSERT INTO key_usage_hourly (key_id, hour, outcome, requests)
             SELECT id, date_trunc('hour', now()), 'revoked', $2 FROM api_keys WHERE account_id = $1",
        )
        .bind::<SqlUuid, _>(account)
        .bind::<BigInt, _>(r)
        .execute(&mut c)
        .await
        .unwrap();
    }
}

/// `n` "more than 1 request in an hour — every key" rules for `account`.
async fn every_key_rules(app: &TestApp, account: Uuid, n: i64) {
    diesel::sql_query(
        "INSERT INTO usage_alert_rules (id, account_id, key_id, kind, threshold)
         SELECT gen_random_uuid(), $1, NULL, 'requests_per_hour', 1 FROM generate_series(1, $2)",
    )
    .bind::<SqlUuid, _>(account)
    .bind::<BigInt, _>(n)
    .execute(&mut app.conn().await)
    .await
    .unwrap();
}

#[tokio::test]
async fn twenty_every_key_rules_over_400_keys_do_not_silence_another_accounts_alert() {
    let app = spawn_app().await;
    let noisy = app.eligible_user_logged_in().await;
    let quiet = app.eligible_user_logged_in().await;
    bulk_keys(&app, noisy.id, 400, "NULL", true, Some(5)).await;
    every_key_rules(&app, noisy.id, 20).await;
    bulk_keys(&app, quiet.id, 1, "NULL", false, Some(5)).await;
    every_key_rules(&app, quiet.id, 1).await;

    let mut c = app.conn().await;
    notices::alerts::detect(&mut c).await.unwrap();
    assert_eq!(
        notices_of_kind(&app, quiet.id, NoticeKind::UsageAlert).await,
        1,
        "the quiet account's alert is written in the first run"
    );
    let per_run = notices::alerts::ALERTS_PER_ACCOUNT_PER_RUN;
    assert_eq!(
        notices_of_kind(&app, noisy.id, NoticeKind::UsageAlert).await,
        per_run,
        "bounded work per account and run"
    );
    // the next run makes progress on what is left instead of re-reading what was written
    notices::alerts::detect(&mut c).await.unwrap();
    assert_eq!(
        notices_of_kind(&app, noisy.id, NoticeKind::UsageAlert).await,
        2 * per_run
    );
    assert_eq!(
        notices_of_kind(&app, quiet.id, NoticeKind::UsageAlert).await,
        1
    );
}

#[tokio::test]
async fn an_account_with_5001_due_keys_does_not_starve_the_next_accounts_digest() {
    let app = spawn_app().await;
    let a = app.eligible_user_logged_in().await;
    let b = app.eligible_user_logged_in().await;
    // the digest used to take keys in account-id order: the big account goes first
    let (big, small) = if a.id < b.id { (a, b) } else { (b, a) };
    bulk_keys(
        &app,
        big.id,
        5_001,
        "now() + interval '3 days'",
        false,
        None,
    )
    .await;
    bulk_keys(&app, small.id, 1, "now() + interval '3 days'", false, None).await;

    let mut c = app.conn().await;
    keydesk::notify::digest::run_once(&mut c, Duration::from_secs(86_400))
        .await
        .unwrap();
    assert_eq!(
        notices_of_kind(&app, small.id, NoticeKind::ExpiryDigest).await,
        1,
        "the small account's digest is written in the first run"
    );
    #[derive(diesel::QueryableByName)]
    struct Keys {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let named: Keys = diesel::sql_query(
        "SELECT jsonb_array_length(payload->'keys')::int8 AS n FROM notices
          WHERE account_id = $1 AND kind = 'expiry_digest'",
    )
    .bind::<SqlUuid, _>(big.id)
    .get_result(&mut c)
    .await
    .unwrap();
    assert_eq!(
        named.n,
        keydesk::notify::digest::MAX_KEYS_PER_DIGEST,
        "one digest names a bounded number of keys"
    );
    // a second run in the same interval writes nothing more
    assert_eq!(
        keydesk::notify::digest::run_once(&mut c, Duration::from_secs(86_400))
            .await
            .unwrap(),
        0
    );
}
