//! Notifications against real listeners: the expiry digest by e-mail (aiosmtpd), signed
//! webhooks (an HTTP receiver; signatures checked with hmac/sha2/base64 here, not the app's
//! code), retries, SSRF refusal, crash safety of the outbox, preferences, new addresses,
//! security events, usage alerts and the in-app list.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use keydesk::config::Secret;
use keydesk::db::notices::{self, NewNotice, outbox, prefs};
use keydesk::db::schema::{api_keys, notices as n};
use keydesk::domain::notice::Channel;
use keydesk::domain::webhook::WebhookSecret;
use sha2::Sha256;
use uuid::Uuid;

use crate::helpers::*;
use crate::listeners::{Receiver, SmtpSink, eventually, readable};

/// The account's notices `(id, kind, in_app)`, oldest first.
async fn notices_of(app: &TestApp, account: Uuid) -> Vec<(Uuid, String, bool)> {
    let mut c = app.conn().await;
    n::table
        .filter(n::account_id.eq(account))
        .order(n::created_at)
        .select((n::id, n::kind, n::in_app))
        .load(&mut c)
        .await
        .unwrap()
}

async fn deliveries(app: &TestApp, notice: Uuid) -> Vec<(String, String, i32)> {
    outbox::for_notice(&mut app.conn().await, notice)
        .await
        .unwrap()
}

async fn run_digest(app: &TestApp) -> usize {
    keydesk::notify::digest::run_once(&mut app.conn().await, Duration::from_secs(86_400))
        .await
        .unwrap()
}

/// Checks a Standard Webhooks signature the way a receiver would, independently of keydesk.
fn verify(secret: &str, r: &crate::listeners::Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let id = r.header("webhook-id").unwrap();
    let ts = r.header("webhook-timestamp").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let now = chrono::Utc::now().timestamp();
    let fresh = (now - ts.parse::<i64>().unwrap()).abs() < 300;
    fresh
        && r.header("webhook-signature")
            .unwrap()
            .split(' ')
            .any(|s| s == expected)
}

async fn app_with_mail(sink: &SmtpSink) -> TestApp {
    let url = sink.url.clone();
    spawn_app_with(TestDb::new().await, |s| {
        s.notify.worker = true;
        s.notify.smtp_url = Some(Secret::new(url));
        s.notify.mail_from = "keydesk <no-reply@keydesk.test>".into();
    })
    .await
}

#[tokio::test]
async fn a_key_seven_days_from_expiry_makes_exactly_one_digest_email_even_with_two_detectors() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    let user = app.eligible_user_logged_in().await;
    let mut c = app.conn().await;
    keydesk::db::users::set_time_zone(&mut c, user.id, "Europe/Berlin")
        .await
        .unwrap();
    let secret = app
        .create_key_secret_with(&[("name", "buyback-script"), ("expiration", "7")])
        .await;
    let key = app.key_id_of(&secret).await;

    // two detectors at once (as two instances would), on two connections
    // (the app's own detector may run too: still one)
    let (a, b) = tokio::join!(run_digest(&app), run_digest(&app));
    assert!(a + b <= 1, "one digest, not {a} + {b}");
    assert_eq!(
        run_digest(&app).await,
        0,
        "a key is told once per milestone"
    );
    let digests = notices_of(&app, user.id).await;
    assert_eq!(digests.len(), 1, "{digests:?}");

    assert!(
        eventually(10, || async { !sink.messages().is_empty() }).await,
        "{:?}",
        outbox::list(&mut app.conn().await, &["pending", "failed", "skipped"], 10).await
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "exactly one e-mail");
    let text = readable(&mail[0]);
    assert!(text.contains(&user.email), "{text}");
    assert!(text.contains("buyback-script"), "{text}");
    assert!(
        text.contains(&format!("/settings/api-keys/{key}/roll")),
        "{text}"
    );
    assert!(
        text.contains("Europe/Berlin"),
        "times in the account's zone: {text}"
    );
    assert!(
        text.contains("text/html") && text.contains("text/plain"),
        "{text}"
    );

    // the same notice is on the keys page, naming the key, with the roll link
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(
        html.contains("buyback-script") && html.contains(&format!("/settings/api-keys/{key}/roll"))
    );
}

#[tokio::test]
async fn without_smtp_e_mail_is_skipped_and_the_settings_page_says_so() {
    let app = spawn_app_with_worker().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret_with(&[("name", "soon"), ("expiration", "7")])
        .await;
    run_digest(&app).await;
    let (id, _, in_app) = notices_of(&app, user.id).await[0].clone();
    assert!(in_app);
    assert!(
        eventually(10, || async {
            deliveries(&app, id).await == vec![("email".into(), "skipped".into(), 1)]
        })
        .await
    );
    let (status, html) = app.get_html("/settings/notifications").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("E-mail isn't set up on this server"),
        "{html}"
    );
}

async fn set_webhook(app: &TestApp, url: &str) -> (u16, String) {
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/settings/notifications/webhook",
            &[("csrf_token", &token), ("url", url)],
        )
        .await;
    let status = res.status().as_u16();
    let cache = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    let html = res.text().await.unwrap();
    if status == 200 {
        assert_eq!(cache.as_deref(), Some("no-store"));
    }
    (status, html)
}

fn secret_on_page(html: &str) -> String {
    let marker = "id=\"webhook-secret\" class=\"secret\" type=\"text\" readonly value=\"";
    let start = html.find(marker).expect("no secret on the page") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

async fn send_test_event(app: &TestApp) {
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/settings/notifications/webhook/test",
            &[("csrf_token", &token)],
        )
        .await;
    assert_redirects_to(&res, "/settings/notifications");
}

async fn private_ok_app() -> TestApp {
    spawn_app_with(TestDb::new().await, |s| {
        s.notify.worker = true;
        s.notify.webhook_allow_private = true
    })
    .await
}

#[tokio::test]
async fn a_test_event_arrives_with_a_signature_that_verifies_with_the_secret() {
    let receiver = Receiver::start(&[]).await;
    let app = private_ok_app().await;
    let user = app.eligible_user_logged_in().await;
    let (status, html) = set_webhook(&app, &receiver.url).await;
    assert_eq!(status, 200, "{html}");
    let secret = secret_on_page(&html);
    assert!(secret.starts_with("whsec_"));
    // shown once: the next view of the page does not carry it
    let (_, again) = app.get_html("/settings/notifications").await;
    assert!(!again.contains(&secret) && again.contains(&receiver.url));

    send_test_event(&app).await;
    assert!(eventually(10, || async { receiver.received().len() == 1 }).await);
    let got = receiver.received()[0].clone();
    assert!(verify(&secret, &got), "signature must verify: {got:?}");
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["type"], "webhook.test");
    let (id, kind, in_app) = notices_of(&app, user.id).await[0].clone();
    assert_eq!((kind.as_str(), in_app), ("webhook_test", false));
    assert_eq!(got.header("webhook-id"), Some(id.to_string().as_str()));
    // a tampered body does not verify
    let mut forged = got.clone();
    forged.body.push(b' ');
    assert!(!verify(&secret, &forged));
}

#[tokio::test]
async fn a_receiver_answering_500_gets_the_same_webhook_id_again_after_backoff() {
    let receiver = Receiver::start(&[500]).await;
    let app = private_ok_app().await;
    let user = app.eligible_user_logged_in().await;
    let (_, html) = set_webhook(&app, &receiver.url).await;
    let secret = secret_on_page(&html);
    send_test_event(&app).await;
    assert!(eventually(15, || async { receiver.received().len() >= 2 }).await);
    let got = receiver.received();
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert!(verify(&secret, &got[1]));
    let (id, _, _) = notices_of(&app, user.id).await[0].clone();
    assert!(
        eventually(5, || async {
            deliveries(&app, id).await == vec![("webhook".into(), "delivered".into(), 2)]
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "nothing after delivery");
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_given_up_on_after_the_bounded_attempts() {
    let receiver = Receiver::start(&[500, 500, 500, 500]).await;
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.notify.worker = true;
        s.notify.webhook_allow_private = true;
        s.notify.max_attempts = 3;
        s.notify.backoff = Duration::from_millis(50);
    })
    .await;
    let user = app.eligible_user_logged_in().await;
    set_webhook(&app, &receiver.url).await;
    send_test_event(&app).await;
    let id = notices_of(&app, user.id).await[0].0;
    assert!(
        eventually(15, || async {
            deliveries(&app, id).await == vec![("webhook".into(), "failed".into(), 3)]
        })
        .await
    );
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_loopback_webhook_url_is_refused_when_private_destinations_are_not_allowed() {
    let receiver = Receiver::start(&[]).await;
    let app = spawn_app_with_worker().await; // APP_WEBHOOK_ALLOW_PRIVATE=false
    let user = app.eligible_user_logged_in().await;
    for url in [
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "localhost"),
        "http://[::1]:9/hook".into(),
        "http://169.254.169.254/latest/meta-data".into(),
    ] {
        let (status, html) = set_webhook(&app, &url).await;
        assert_eq!(status, 422, "{url}");
        assert!(html.contains("loopback, private or link-local"), "{html}");
    }
    for (url, why) in [
        (
            "not a url",
            "it should look like https://example.com/hooks/keydesk",
        ),
        ("ftp://example.com/", "must start with https://"),
    ] {
        let (status, html) = set_webhook(&app, url).await;
        assert_eq!(status, 422);
        assert!(html.contains(why), "{html}");
    }
    // stored behind the form's back (or a DNS answer that changed): the worker refuses too
    prefs::set_webhook_for_account(
        &mut app.conn().await,
        user.id,
        &receiver.url,
        &WebhookSecret::generate(),
    )
    .await
    .unwrap();
    let id = notices::enqueue(&mut app.conn().await, NewNotice::webhook_test(user.id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        eventually(10, || async {
            deliveries(&app, id).await == vec![("webhook".into(), "failed".into(), 1)]
        })
        .await
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_notice_enqueued_before_a_crash_is_delivered_by_the_next_instance() {
    let receiver = Receiver::start(&[]).await;
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.notify.worker = false; // this instance never delivers
        s.notify.webhook_allow_private = true;
    })
    .await;
    let user = app.eligible_user_logged_in().await;
    set_webhook(&app, &receiver.url).await;
    send_test_event(&app).await;
    // a worker that claimed the row and died before sending (its lease runs out)
    let lost = notices::enqueue(&mut app.conn().await, NewNotice::webhook_test(user.id))
        .await
        .unwrap()
        .unwrap();
    // a claim takes one row per account: two claims take both
    let mut claimed = 0;
    for _ in 0..2 {
        claimed += outbox::claim(&mut app.conn().await, Channel::Webhook, &[], 10, 1.0)
            .await
            .unwrap()
            .len();
    }
    assert_eq!(claimed, 2);
    app.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());

    // a new instance on the same database delivers both
    let mut settings = app.settings.clone();
    settings.notify.worker = true;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let next = keydesk::startup::Application::build_with_listener(settings, listener, false)
        .await
        .unwrap();
    let handle = next.handle();
    tokio::spawn(next.run_until_stopped());
    assert!(eventually(15, || async { receiver.received().len() == 2 }).await);
    let ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    assert!(ids.contains(&lost.to_string()));
    handle.stop(true).await;
}

#[tokio::test]
async fn preferences_switch_channels_off() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    let user = app.eligible_user_logged_in().await;
    let (_, html) = app.get_html("/settings/notifications").await;
    // defaults: e-mail + in-app for expiry and security, in-app only for the others
    assert!(html.contains("name=\"expiry.email\" value=\"on\" id=\"pref-expiry.email\" checked"));
    assert!(
        !html.contains(
            "name=\"new_address.email\" value=\"on\" id=\"pref-new_address.email\" checked"
        )
    );
    // switch expiry to nothing but the webhook
    let token = csrf_in(&html);
    let res = app
        .post_form(
            "/settings/notifications",
            &[
                ("csrf_token", &token),
                ("expiry.webhook", "on"),
                ("security.email", "on"),
            ],
        )
        .await;
    assert_redirects_to(&res, "/settings/notifications");
    app.create_key_secret_with(&[("name", "quiet"), ("expiration", "7")])
        .await;
    run_digest(&app).await;
    let (id, _, in_app) = notices_of(&app, user.id).await[0].clone();
    assert!(!in_app, "in-app switched off");
    assert!(
        deliveries(&app, id).await.is_empty(),
        "no e-mail, no webhook set up"
    );
    let (_, keys_page) = app.get_html("/settings/api-keys").await;
    assert!(!keys_page.contains("notice-item"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sink.messages().is_empty());
    // security e-mail is still on: an operator turning keys off is mailed
    keydesk::admin::set_api_keys(&app.settings, &user.email, false)
        .await
        .unwrap();
    assert!(eventually(10, || async { sink.messages().len() == 1 }).await);
    assert!(readable(&sink.messages()[0]).contains("turned off"));
}

#[tokio::test]
async fn a_use_from_a_new_address_makes_one_notice_that_can_be_dismissed() {
    let app = spawn_app_with_worker().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("ops-bot").await;
    let key = app.key_id_of(&secret).await;
    let auth = format!("Bearer {secret}");
    // during the key's first day a new address is not news
    assert_eq!(app.me(Some(&auth)).await.status().as_u16(), 200);
    app.usage.flush_now().await;
    assert!(notices_of(&app, user.id).await.is_empty());
    // a day later, from an address not seen for 30 days
    let mut c = app.conn().await;
    diesel::update(api_keys::table.filter(api_keys::id.eq(key)))
        .set(api_keys::created_at.eq(chrono::Utc::now() - chrono::Duration::days(2)))
        .execute(&mut c)
        .await
        .unwrap();
    diesel::sql_query("UPDATE key_client_ips SET last_seen = now() - interval '31 days'")
        .execute(&mut c)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(app.me(Some(&auth)).await.status().as_u16(), 200);
        app.usage.flush_now().await;
    }
    let found = notices_of(&app, user.id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].1.as_str(), found[0].2), ("new_client_ip", true));
    assert!(
        deliveries(&app, found[0].0).await.is_empty(),
        "in-app only by default"
    );

    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(
        html.contains("“ops-bot” was used from a new address"),
        "{html}"
    );
    assert!(html.contains("127.0.0.1"));
    let action = format!("/settings/notices/{}/dismiss", found[0].0);
    assert!(html.contains(&action));
    // no token: refused
    let res = app.post_form(&action, &[]).await;
    assert_eq!(res.status().as_u16(), 403);
    let res = app
        .post_form(&action, &[("csrf_token", &csrf_in(&html))])
        .await;
    assert_redirects_to(&res, "/settings/api-keys");
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(!html.contains("was used from a new address"));
}

#[tokio::test]
async fn another_accounts_notice_cannot_be_dismissed() {
    let app = spawn_app_with_worker().await;
    let other = app.eligible_user_logged_in().await;
    let id = notices::enqueue(
        &mut app.conn().await,
        NewNotice::api_keys_disabled(other.id),
    )
    .await
    .unwrap()
    .unwrap();
    app.eligible_user_logged_in().await;
    let token = app.csrf().await;
    let res = app
        .post_form(
            &format!("/settings/notices/{id}/dismiss"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_redirects_to(&res, "/settings/api-keys");
    let still: Option<chrono::DateTime<chrono::Utc>> = n::table
        .find(id)
        .select(n::dismissed_at)
        .first(&mut app.conn().await)
        .await
        .unwrap();
    assert!(still.is_none());
}

#[tokio::test]
async fn unlinking_the_last_wallet_tells_the_owner_that_keys_are_paused() {
    let app = spawn_app_with_worker().await;
    let user = app.eligible_user_logged_in().await;
    app.create_key_secret("paused-bot").await;
    let wallet: Uuid = keydesk::db::wallets::list_for_account(&mut app.conn().await, user.id)
        .await
        .unwrap()[0]
        .id;
    let token = app.csrf().await;
    let res = app
        .post_form(
            &format!("/settings/wallets/{wallet}/unlink"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let found = notices_of(&app, user.id).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "wallet_unlinked");
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(html.contains("Your API keys are paused"));
}

#[tokio::test]
async fn a_usage_alert_fires_once_per_rule_key_and_hour() {
    let app = spawn_app_with_worker().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("busy-bot").await;
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/settings/notifications/alerts",
            &[
                ("csrf_token", &token),
                ("key", "all"),
                ("kind", "requests_per_hour"),
                ("threshold", "2"),
            ],
        )
        .await;
    assert_redirects_to(&res, "/settings/notifications");
    let bad = app
        .post_form(
            "/settings/notifications/alerts",
            &[
                ("csrf_token", &token),
                ("kind", "refusal_rate"),
                ("threshold", "500"),
            ],
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    let auth = format!("Bearer {secret}");
    for _ in 0..3 {
        app.me(Some(&auth)).await;
    }
    app.usage.flush_now().await;
    let mut c = app.conn().await;
    assert_eq!(notices::alerts::detect(&mut c).await.unwrap(), 1);
    assert_eq!(notices::alerts::detect(&mut c).await.unwrap(), 0);
    let found = notices_of(&app, user.id).await;
    assert_eq!(found.len(), 1);
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(html.contains("Usage alert for “busy-bot”"), "{html}");
}

#[tokio::test]
async fn deliveries_are_counted_in_the_metrics() {
    let receiver = Receiver::start(&[]).await;
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.notify.worker = true;
        s.notify.webhook_allow_private = true;
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        // the queue-depth gauge is refreshed on the detectors' schedule
        s.notify.detect_every = Duration::from_millis(200);
    })
    .await;
    app.eligible_user_logged_in().await;
    set_webhook(&app, &receiver.url).await;
    send_test_event(&app).await;
    assert!(eventually(10, || async { receiver.received().len() == 1 }).await);
    let url = app.metrics_url.clone().unwrap();
    assert!(
        eventually(5, || async {
            let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
            text.contains(
                "keydesk_notice_deliveries_total{channel=\"webhook\",result=\"delivered\"} 1",
            ) && text.contains("keydesk_notice_queue_depth")
        })
        .await
    );
}

#[tokio::test]
async fn a_key_used_from_a_fleet_of_new_addresses_tells_its_owner_a_few_times_not_per_address() {
    let app = spawn_app_with_worker().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("fleet-bot").await;
    let key = app.key_id_of(&secret).await;
    diesel::update(api_keys::table.filter(api_keys::id.eq(key)))
        .set(api_keys::created_at.eq(chrono::Utc::now() - chrono::Duration::days(2)))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    for i in 0..15 {
        app.client
            .post(format!("{}/api/v1/introspect", app.address))
            .header(
                "authorization",
                format!("Bearer {}", app.settings.introspection_token.expose()),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={secret}&client_ip=198.51.100.{i}"))
            .send()
            .await
            .unwrap();
    }
    app.usage.flush_now().await;
    // a timed flush may have taken part of the batch and still be writing it
    let cap = notices::NEW_ADDRESSES_PER_DAY as usize;
    assert!(eventually(5, || async { notices_of(&app, user.id).await.len() >= cap }).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(notices_of(&app, user.id).await.len(), cap);
}

#[tokio::test]
async fn the_operator_listing_shows_failed_deliveries() {
    let app = spawn_app_with_worker().await;
    let user = app.eligible_user_logged_in().await;
    // a webhook the worker will refuse (loopback, private destinations not allowed)
    prefs::set_webhook_for_account(
        &mut app.conn().await,
        user.id,
        "http://127.0.0.1:9/hook",
        &WebhookSecret::generate(),
    )
    .await
    .unwrap();
    let id = notices::enqueue(&mut app.conn().await, NewNotice::webhook_test(user.id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        eventually(10, || async {
            deliveries(&app, id).await == vec![("webhook".into(), "failed".into(), 1)]
        })
        .await
    );
    let rows = outbox::list(&mut app.conn().await, &["pending", "failed"], 100)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].notice_id, rows[0].status.as_str()), (id, "failed"));
    assert!(rows[0].last_error.as_deref().unwrap().contains("refused"));
    assert_eq!(rows[0].email, user.email);
    keydesk::notify::admin::list(&app.settings, false, 10)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refusal_rate_alert_fires_when_refusals_pass_the_share_with_enough_requests() {
    let app = spawn_app_with_worker().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("refused-bot").await;
    let key = app.key_id_of(&secret).await;
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/settings/notifications/alerts",
            &[
                ("csrf_token", &token),
                ("key", &key.to_string()),
                ("kind", "refusal_rate"),
                ("threshold", "50"),
                ("min_requests", "4"),
            ],
        )
        .await;
    assert_redirects_to(&res, "/settings/notifications");
    let auth = format!("Bearer {secret}");
    app.me(Some(&auth)).await;
    app.usage.flush_now().await;
    let mut c = app.conn().await;
    assert_eq!(
        notices::alerts::detect(&mut c).await.unwrap(),
        0,
        "too few requests"
    );
    keydesk::db::api_keys::revoke_for_account(&mut c, user.id, key, user.id, &origin())
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(app.me(Some(&auth)).await.status().as_u16(), 401);
    }
    app.usage.flush_now().await;
    assert_eq!(
        notices::alerts::detect(&mut c).await.unwrap(),
        1,
        "3 of 4 refused"
    );
    let (_, html) = app.get_html("/settings/api-keys").await;
    assert!(html.contains("3 of 4 requests were refused"), "{html}");
    // another account's key cannot be watched
    app.eligible_user_logged_in().await;
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/settings/notifications/alerts",
            &[
                ("csrf_token", &token),
                ("key", &key.to_string()),
                ("kind", "requests_per_hour"),
                ("threshold", "5"),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
}
