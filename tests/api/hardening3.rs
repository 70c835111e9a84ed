//! Hardening, third pass: the GitHub key document survives a failed refresh, per-use data is
//! gone after 90 days, webhooks never reach special-purpose addresses, and support finds a key
//! by its bare tail.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keydesk::db::notices::{self, NewNotice, outbox, prefs};
use keydesk::db::schema::{api_keys, key_client_ips};
use keydesk::domain::webhook::WebhookSecret;
use keydesk::domain::{PlainKey, Role};

use crate::exposed::{Github, alert_body, document, post_alert, sign_with, signer};
use crate::helpers::*;
use crate::listeners::{Receiver, eventually};

// ---- item 5: the GitHub key document ------------------------------------------------------

/// An HTTP server on 127.0.0.1 answering every request with the status and body it is set to,
/// counting requests.
struct DocServer {
    url: String,
    answer: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
}

impl DocServer {
    async fn start(status: u16, body: String) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/meta/public_keys/secret_scanning",
            listener.local_addr().unwrap()
        );
        let answer = Arc::new(Mutex::new((status, body)));
        let hits = Arc::new(AtomicUsize::new(0));
        let (a, h) = (answer.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let (status, body) = a.lock().unwrap().clone();
                let res = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(res.as_bytes()).await;
            }
        });
        Self { url, answer, hits }
    }

    fn set(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (status, body.to_owned());
    }

    fn hits(&self) -> usize {
        AtomicUsize::load(&self.hits, Ordering::SeqCst)
    }
}

/// An app reading `github`'s file and fetching from `url`, refreshing at most every `every`.
async fn scanning_app(github: &Github, url: &str, every: Duration) -> TestApp {
    let (file, url) = (github.file.clone(), url.to_owned());
    spawn_app_with(TestDb::new().await, move |s| {
        s.scanning.keys_file = Some(file);
        s.scanning.keys_url = Some(url);
        s.scanning.keys_refresh_every = every;
    })
    .await
}

/// A body reporting a token that is no key of ours: a correctly signed one is answered 200.
fn harmless_body() -> Vec<u8> {
    alert_body(&[PlainKey::generate().expose().to_owned()])
}

#[tokio::test]
async fn a_failed_fetch_keeps_the_keys_the_last_good_fetch_supplied() {
    let github = Github::new();
    let fetched = signer();
    let server = DocServer::start(200, document(&[("fetched-key", &fetched)])).await;
    let app = scanning_app(&github, &server.url, Duration::from_millis(200)).await;
    let body = harmless_body();
    let by_fetched = sign_with(&fetched, &body);
    let res = post_alert(&app, "fetched-key", &by_fetched, body.clone()).await;
    assert_eq!(res.status(), 200, "the first fetch supplies the key");
    assert_eq!(server.hits(), 1);
    // the URL breaks in each way a fetch can fail
    for (status, broken) in [
        (500, "{\"message\":\"Server Error\"}"),
        (200, "not json"),
        (200, "{\"public_keys\": 7}"),
        (404, ""),
    ] {
        server.set(status, broken);
        tokio::time::sleep(Duration::from_millis(300)).await; // past the refresh interval
        let made_up = post_alert(&app, "made-up", &by_fetched, body.clone()).await;
        assert_eq!(made_up.status(), 401);
        let res = post_alert(&app, "fetched-key", &by_fetched, body.clone()).await;
        assert_eq!(
            res.status(),
            200,
            "a failed fetch ({status} {broken}) must not drop the fetched key"
        );
        let res = post_alert(&app, &github.key_id, &github.sign(&body), body.clone()).await;
        assert_eq!(res.status(), 200, "nor the file's key");
    }
    assert_eq!(
        server.hits(),
        5,
        "one fetch per refresh, none for known keys"
    );
}

#[tokio::test]
async fn a_key_file_that_no_longer_parses_keeps_its_keys_while_the_url_supplies_new_ones() {
    let github = Github::new();
    let fetched = signer();
    let server = DocServer::start(200, document(&[("fetched-key", &fetched)])).await;
    let app = scanning_app(&github, &server.url, Duration::from_millis(200)).await;
    std::fs::write(&github.file, "{ half a document").unwrap();
    let body = harmless_body();
    let res = post_alert(
        &app,
        "fetched-key",
        &sign_with(&fetched, &body),
        body.clone(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = post_alert(&app, &github.key_id, &github.sign(&body), body.clone()).await;
    assert_eq!(res.status(), 200, "the file's last good keys stay");
    // a document that parses replaces the source's keys: GitHub dropped `fetched-key`
    let next = signer();
    server.set(200, &document(&[("next-key", &next)]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = post_alert(&app, "next-key", &sign_with(&next, &body), body.clone()).await;
    assert_eq!(res.status(), 200);
    let res = post_alert(
        &app,
        "fetched-key",
        &sign_with(&fetched, &body),
        body.clone(),
    )
    .await;
    assert_eq!(res.status(), 401, "replaced by the newer good document");
}

#[tokio::test]
async fn alerts_with_made_up_identifiers_fetch_at_most_once_a_minute_even_all_at_once() {
    let github = Github::new();
    let server = DocServer::start(500, String::new()).await;
    let app = scanning_app(
        &github,
        &server.url,
        keydesk::config::ScanningSettings::default().keys_refresh_every,
    )
    .await;
    let body = harmless_body();
    let signature = github.sign(&body);
    let calls = (0..20).map(|i| {
        let (client, address) = (app.client.clone(), app.address.clone());
        let (body, signature) = (body.clone(), signature.clone());
        tokio::spawn(async move {
            client
                .post(format!("{address}/api/v1/secret-scanning/github"))
                .header("content-type", "application/json")
                .header("Github-Public-Key-Identifier", format!("made-up-{i}"))
                .header("Github-Public-Key-Signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap(), 401);
    }
    assert_eq!(server.hits(), 1, "one fetch for twenty alerts");
    let res = post_alert(&app, &github.key_id, &signature, body).await;
    assert_eq!(
        res.status(),
        200,
        "the file's key survives the failed fetch"
    );
}

// ---- item 6: retention --------------------------------------------------------------------

#[tokio::test]
async fn client_addresses_and_the_last_use_older_than_ninety_days_are_pruned_from_the_key_page() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let old_secret = app.create_key_secret("aged").await;
    let old = app.key_id_of(&old_secret).await;
    let recent_secret = app.create_key_secret("busy").await;
    let recent = app.key_id_of(&recent_secret).await;
    let mut c = app.conn().await;
    diesel::sql_query(format!(
        "INSERT INTO key_client_ips (key_id, client_ip, first_seen, last_seen, requests) VALUES
           ('{old}', '203.0.113.77', now() - interval '120 days', now() - interval '100 days', 4),
           ('{old}', '198.51.100.23', now() - interval '100 days', now() - interval '2 days', 9),
           ('{recent}', '192.0.2.55', now() - interval '89 days', now() - interval '89 days', 1)"
    ))
    .execute(&mut c)
    .await
    .unwrap();
    diesel::sql_query(format!(
        "UPDATE api_keys SET last_used_at = now() - interval '100 days',
                last_client_ip = '203.0.113.77', last_user_agent = 'aged-agent/1.0'
          WHERE id = '{old}';
         "
    ))
    .execute(&mut c)
    .await
    .unwrap();
    diesel::sql_query(format!(
        "UPDATE api_keys SET last_used_at = now() - interval '89 days',
                last_client_ip = '192.0.2.55', last_user_agent = 'busy-agent/2.0'
          WHERE id = '{recent}'"
    ))
    .execute(&mut c)
    .await
    .unwrap();
    let (_, before) = app.get_html(&format!("/settings/api-keys/{old}")).await;
    assert!(before.contains("203.0.113.77") && before.contains("aged-agent/1.0"));

    keydesk::db::prune::run_once(&mut c, 900).await.unwrap();

    let left: Vec<(uuid::Uuid, String)> = key_client_ips::table
        .select((key_client_ips::key_id, key_client_ips::client_ip))
        .order(key_client_ips::client_ip)
        .load(&mut c)
        .await
        .unwrap();
    assert_eq!(
        left,
        vec![
            (recent, "192.0.2.55".to_owned()),
            (old, "198.51.100.23".to_owned())
        ],
        "only the address last seen 100 days ago is gone"
    );
    let (status, page) = app.get_html(&format!("/settings/api-keys/{old}")).await;
    assert_eq!(status, 200);
    assert!(!page.contains("203.0.113.77"), "the old address is gone");
    assert!(!page.contains("aged-agent/1.0"), "so is the old user agent");
    assert!(page.contains("198.51.100.23"), "a recent address stays");
    let kept: (Option<String>, Option<String>) = api_keys::table
        .find(recent)
        .select((api_keys::last_client_ip, api_keys::last_user_agent))
        .first(&mut c)
        .await
        .unwrap();
    assert_eq!(
        kept,
        (Some("192.0.2.55".into()), Some("busy-agent/2.0".into()))
    );
    let (_, page) = app.get_html(&format!("/settings/api-keys/{recent}")).await;
    assert!(page.contains("192.0.2.55") && page.contains("busy-agent/2.0"));
}

// ---- item 7: webhook destinations ---------------------------------------------------------

/// The examples: IPv4-compatible loopback and metadata address, benchmarking, site-local,
/// 6to4 of 127.0.0.1, Teredo. Plus IPv4-mapped loopback.
const ODD_URLS: [&str; 7] = [
    "http://[::127.0.0.1]/hook",
    "http://[::a9fe:a9fe]/hook",
    "http://198.18.0.1/hook",
    "http://[fec0::1]/hook",
    "http://[2002:7f00:1::1]/hook",
    "http://[2001:0:7f00:1::]/hook",
    "http://[::ffff:127.0.0.1]/hook",
];

async fn save_webhook(app: &TestApp, url: &str) -> (u16, String) {
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/settings/notifications/webhook",
            &[("csrf_token", &token), ("url", url)],
        )
        .await;
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn webhook_urls_at_special_purpose_addresses_are_refused_even_when_private_ones_are_allowed()
{
    for allow_private in [true, false] {
        let app = spawn_app_with(TestDb::new().await, |s| {
            s.notify.webhook_allow_private = allow_private
        })
        .await;
        let user = app.eligible_user_logged_in().await;
        for url in ODD_URLS {
            let (status, html) = save_webhook(&app, url).await;
            assert_eq!(status, 422, "{url} (allow_private = {allow_private})");
            assert!(
                html.contains(&format!("value=\"{url}\"")),
                "the input is kept: {url}"
            );
            assert!(
                html.contains("webhooks only go to public addresses"),
                "{html}"
            );
        }
        let stored = prefs::find_webhook_for_account(&mut app.conn().await, user.id)
            .await
            .unwrap();
        assert!(stored.is_none(), "nothing saved");
    }
}

#[tokio::test]
async fn a_stored_webhook_at_an_ipv4_mapped_loopback_address_is_refused_at_delivery() {
    // ::ffff:127.0.0.1 reaches a 127.0.0.1 listener through a dual-stack socket
    let receiver = Receiver::start(&[]).await;
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.notify.worker = true;
        s.notify.webhook_allow_private = true;
    })
    .await;
    let user = app.eligible_user_logged_in().await;
    let mapped = receiver.url.replace("127.0.0.1", "[::ffff:127.0.0.1]");
    prefs::set_webhook_for_account(
        &mut app.conn().await,
        user.id,
        &mapped,
        &WebhookSecret::generate(),
    )
    .await
    .unwrap();
    let id = notices::enqueue(&mut app.conn().await, NewNotice::webhook_test(user.id))
        .await
        .unwrap()
        .unwrap();
    let failed = eventually(10, || async {
        outbox::for_notice(&mut app.conn().await, id).await.unwrap()
            == vec![("webhook".into(), "failed".into(), 1)]
    })
    .await;
    assert!(
        failed,
        "refused at once: {:?}",
        outbox::for_notice(&mut app.conn().await, id).await.unwrap()
    );
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
    // the plain loopback address still works for development
    prefs::set_webhook_for_account(
        &mut app.conn().await,
        user.id,
        &receiver.url,
        &WebhookSecret::generate(),
    )
    .await
    .unwrap();
    notices::enqueue(&mut app.conn().await, NewNotice::webhook_test(user.id))
        .await
        .unwrap();
    assert!(eventually(10, || async { receiver.received().len() == 1 }).await);
}

// ---- item 9: support finds a key by its bare tail -----------------------------------------

#[tokio::test]
async fn support_finds_a_key_by_its_bare_six_character_tail_and_still_searches_e_mails() {
    let app = spawn_app().await;
    let owner = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("read-out").await;
    let tail = secret[secret.len() - 6..].to_owned();
    // someone whose e-mail starts with the same six characters
    let namesake = app
        .create_user(
            &format!("{}@example.org", tail.to_lowercase()),
            Role::Member,
            false,
            &[],
        )
        .await;
    let staff = app
        .create_user("staff3@example.com", Role::Support, false, &[])
        .await;
    assert_eq!(app.login(&staff.email, &staff.password).await.status(), 303);

    // typed into the form: POST → 303 → GET
    let token = app.csrf().await;
    let res = app
        .post_form("/support", &[("csrf_token", &token), ("q", &tail)])
        .await;
    assert_redirects_to(&res, &format!("/support?q={tail}"));
    let (status, page) = app.get_html(&format!("/support?q={tail}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("/support/accounts/{}", owner.id)),
        "the key's owner is found by the bare tail: {page}"
    );
    assert!(
        page.contains(&format!("/support/accounts/{}", namesake.id)),
        "the e-mail search still runs"
    );
    assert!(
        page.contains(&format!("…{tail}")),
        "the key match is labelled"
    );
    assert!(!page.contains(&secret), "no secret on the page");
    // the e-mail search alone, and a tail nobody has
    let (_, page) = app.get_html("/support?q=zz9zz9").await;
    assert!(page.contains("No accounts match."), "{page}");
    // the same owner by the display form still works
    let (_, page) = app.get_html(&format!("/support?q=%E2%80%A6{tail}")).await;
    assert!(page.contains(&format!("/support/accounts/{}", owner.id)));
}
