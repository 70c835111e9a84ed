//! Hardening, round 3 (b): sudo mode covers every loosening (re-dating later, webhooks,
//! switching a security notice off); one lock order, so rolls racing revokes never fail and a
//! reported key never keeps working; limits per client (an IPv6 /64), and a locked account's
//! refusals not counted against its address.

use crate::helpers::*;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use keydesk::db::notices::prefs;
use keydesk::db::schema::api_keys;
use keydesk::domain::notice::{Channel, EventType};
use uuid::Uuid;

const ASKED: &str = "Confirm your password to continue";

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// POSTs a form with the jar's cookies, as if from `xff` behind the trusted proxy.
async fn post_from(app: &TestApp, path: &str, xff: &str, pairs: &[(&str, &str)]) -> u16 {
    app.client
        .post(format!("{}{path}", app.address))
        .header("cookie", app.cookies())
        .header("x-forwarded-for", xff)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(pairs))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A sign-in attempt from `xff` (through the trusted proxy, or with no header when empty).
async fn login_from(app: &TestApp, xff: &str, email: &str, password: &str) -> u16 {
    app.set_cookie(None);
    let (_, html) = app.get_html("/login").await;
    let token = csrf_in(&html);
    let pairs = [
        ("csrf_token", token.as_str()),
        ("email", email),
        ("password", password),
    ];
    if xff.is_empty() {
        return app.post_form("/login", &pairs).await.status().as_u16();
    }
    post_from(app, "/login", xff, &pairs).await
}

/// (status, body) of `/api/v1/keys/revoke` from `xff` through the trusted proxy.
async fn revoke_by_secret_from(app: &TestApp, xff: &str, keys: &[&str]) -> u16 {
    app.client
        .post(format!("{}/api/v1/keys/revoke", app.address))
        .header("x-forwarded-for", xff)
        .json(&serde_json::json!({ "keys": keys }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn expires_at(app: &TestApp, id: Uuid) -> Option<chrono::DateTime<chrono::Utc>> {
    app.key_row(id).await.expires_at
}

async fn me_status(app: &TestApp, secret: &str) -> u16 {
    app.me(Some(&format!("Bearer {secret}")))
        .await
        .status()
        .as_u16()
}

// ---- 3. Sudo mode covers every loosening ----

#[tokio::test]
async fn re_dating_an_expired_key_to_never_asks_for_the_password_and_changes_nothing_until_given() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app
        .create_key_secret_with(&[("name", "old-bot"), ("expiration", "7")])
        .await;
    let id = app.key_id_of(&secret).await;
    let mut c = app.conn().await;
    diesel::sql_query("UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(&mut c)
        .await
        .unwrap();
    let expired_at = expires_at(&app, id).await;
    assert_eq!(me_status(&app, &secret).await, 401);
    app.age_password_entry(601).await;

    let res = app.act(id, "expiration", &[("expiration", "never")]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains(ASKED), "{page}");
    assert!(page.contains("type=\"password\""), "{page}");
    assert!(
        page.contains("<option value=\"never\" selected>"),
        "kept: {page}"
    );
    assert_eq!(expires_at(&app, id).await, expired_at, "nothing changed");
    assert_eq!(me_status(&app, &secret).await, 401);

    let res = app
        .act(
            id,
            "expiration",
            &[("expiration", "never"), ("password", "wrong-password-1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(expires_at(&app, id).await, expired_at, "nothing changed");

    let res = app
        .act(
            id,
            "expiration",
            &[("expiration", "never"), ("password", &user.password)],
        )
        .await;
    assert_redirects_to(&res, "/settings/api-keys");
    assert_eq!(expires_at(&app, id).await, None);
    assert_eq!(me_status(&app, &secret).await, 200);
}

#[tokio::test]
async fn moving_an_expiry_later_needs_the_password_and_an_earlier_one_does_not() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    let secret = app
        .create_key_secret_with(&[("name", "dated-bot"), ("expiration", "30")])
        .await;
    let id = app.key_id_of(&secret).await;
    let thirty = expires_at(&app, id).await.unwrap();
    app.age_password_entry(601).await;

    // later (a year): asked, nothing changes
    let res = app.act(id, "expiration", &[("expiration", "365")]).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains(ASKED), "{page}");
    assert!(
        page.contains("<option value=\"365\" selected>"),
        "kept: {page}"
    );
    assert_eq!(expires_at(&app, id).await, Some(thirty));

    // earlier (7 days): no password needed
    let res = app.act(id, "expiration", &[("expiration", "7")]).await;
    assert_redirects_to(&res, "/settings/api-keys");
    let seven = expires_at(&app, id).await.unwrap();
    assert!(seven < thirty);
    let events = app.events(user.id, "key.expiration_changed").await;
    assert_eq!(events.len(), 1, "only the earlier date went through");

    // later again, with the password given in the form: done
    let res = app
        .act(
            id,
            "expiration",
            &[("expiration", "60"), ("password", &user.password)],
        )
        .await;
    assert_redirects_to(&res, "/settings/api-keys");
    assert!(expires_at(&app, id).await.unwrap() > thirty);
}

async fn webhook_url(app: &TestApp, account: Uuid) -> Option<String> {
    let mut c = app.conn().await;
    prefs::find_webhook_for_account(&mut c, account)
        .await
        .unwrap()
        .map(|h| h.url)
}

async fn set_webhook(app: &TestApp, url: &str, password: Option<&str>) -> (u16, String) {
    let token = app.csrf().await;
    let mut pairs = vec![("csrf_token", token.as_str()), ("url", url)];
    if let Some(p) = password {
        pairs.push(("password", p));
    }
    let res = app
        .post_form("/settings/notifications/webhook", &pairs)
        .await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

#[tokio::test]
async fn adding_or_changing_a_webhook_needs_the_password_and_removing_it_does_not() {
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.notify.webhook_allow_private = true;
    })
    .await;
    let user = app.eligible_user_logged_in().await;
    app.age_password_entry(601).await;
    let first = "http://127.0.0.1:9/first-hook";

    let (status, page) = set_webhook(&app, first, None).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(ASKED), "{page}");
    assert!(page.contains("id=\"webhook-password\""), "{page}");
    assert!(page.contains(&format!("value=\"{first}\"")), "kept: {page}");
    assert!(!page.contains("id=\"webhook-secret\""), "no secret: {page}");
    assert_eq!(webhook_url(&app, user.id).await, None, "nothing saved");

    let (status, _) = set_webhook(&app, first, Some("wrong-password-1")).await;
    assert_eq!(status, 422);
    assert_eq!(webhook_url(&app, user.id).await, None, "nothing saved");

    let (status, page) = set_webhook(&app, first, Some(&user.password)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"webhook-secret\""), "{page}");
    assert_eq!(webhook_url(&app, user.id).await.as_deref(), Some(first));

    // changing it: asked again once the password is old
    app.age_password_entry(601).await;
    let (status, page) = set_webhook(&app, "http://127.0.0.1:9/second-hook", None).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(ASKED), "{page}");
    assert_eq!(webhook_url(&app, user.id).await.as_deref(), Some(first));

    // removing it tightens: no password
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/settings/notifications/webhook/delete",
            &[("csrf_token", &token)],
        )
        .await;
    assert_redirects_to(&res, "/settings/notifications");
    assert_eq!(webhook_url(&app, user.id).await, None);
}

/// Every switch that is on by default, except those in `off`, plus `extra`.
fn switches(off: &[&str], extra: &[&str]) -> Vec<String> {
    let mut on: Vec<String> = EventType::ALL
        .iter()
        .flat_map(|e| Channel::ALL.iter().map(move |c| (*e, *c)))
        .filter(|(e, c)| e.default_on(*c))
        .map(|(e, c)| format!("{}.{}", e.as_str(), c.as_str()))
        .filter(|n| !off.contains(&n.as_str()))
        .collect();
    on.extend(extra.iter().map(|s| (*s).to_owned()));
    on
}

async fn save_switches(app: &TestApp, on: &[String], password: Option<&str>) -> (u16, String) {
    let token = app.csrf().await;
    let mut pairs: Vec<(&str, &str)> = vec![("csrf_token", &token)];
    pairs.extend(on.iter().map(|n| (n.as_str(), "on")));
    if let Some(p) = password {
        pairs.push(("password", p));
    }
    let res = app.post_form("/settings/notifications", &pairs).await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn switch_on(app: &TestApp, account: Uuid, e: EventType, c: Channel) -> bool {
    let mut conn = app.conn().await;
    prefs::for_account(&mut conn, account)
        .await
        .unwrap()
        .on(e, c)
}

#[tokio::test]
async fn switching_a_security_notice_off_needs_the_password_and_switching_on_does_not() {
    let app = spawn_app().await;
    let user = app.eligible_user_logged_in().await;
    app.age_password_entry(601).await;

    let off = switches(&["security.email"], &[]);
    let (status, page) = save_switches(&app, &off, None).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(ASKED), "{page}");
    assert!(page.contains("id=\"prefs-password\""), "{page}");
    // the switches come back as sent
    assert!(
        page.contains("id=\"pref-security.email\" aria-label"),
        "kept off: {page}"
    );
    assert!(page.contains("id=\"pref-expiry.email\" checked"), "{page}");
    assert!(switch_on(&app, user.id, EventType::Security, Channel::Email).await);

    // use from a new address is a security event too
    let quiet = switches(&["new_address.in_app"], &[]);
    let (status, _) = save_switches(&app, &quiet, None).await;
    assert_eq!(status, 422);
    assert!(switch_on(&app, user.id, EventType::NewAddress, Channel::InApp).await);

    let (status, _) = save_switches(&app, &off, Some("wrong-password-1")).await;
    assert_eq!(status, 422);
    assert!(switch_on(&app, user.id, EventType::Security, Channel::Email).await);

    let (status, page) = save_switches(&app, &off, Some(&user.password)).await;
    assert_eq!(status, 303, "{page}");
    assert!(!switch_on(&app, user.id, EventType::Security, Channel::Email).await);

    // switching on (and a non-security event off) needs no password
    app.age_password_entry(601).await;
    let on = switches(&["expiry.email"], &["security.email", "new_address.email"]);
    let (status, page) = save_switches(&app, &on, None).await;
    assert_eq!(status, 303, "{page}");
    assert!(switch_on(&app, user.id, EventType::Security, Channel::Email).await);
    assert!(switch_on(&app, user.id, EventType::NewAddress, Channel::Email).await);
    assert!(!switch_on(&app, user.id, EventType::Expiry, Channel::Email).await);
}

// ---- 4. One lock order ----

/// A signed-in session of `user` (its own cookie), with the CSRF token and roll request id of
/// `key`'s roll page.
async fn roll_session(app: &TestApp, user: &TestUser, key: Uuid) -> (String, String, String) {
    assert_eq!(app.login(&user.email, &user.password).await.status(), 303);
    let (status, page) = app
        .get_html(&format!("/settings/api-keys/{key}/roll"))
        .await;
    assert_eq!(status, 200, "{page}");
    (app.cookies(), csrf_in(&page), request_id_in(&page))
}

/// A signed-in session of `user` with the CSRF token of `key`'s revoke page.
async fn revoke_session(app: &TestApp, user: &TestUser, key: Uuid) -> (String, String) {
    assert_eq!(app.login(&user.email, &user.password).await.status(), 303);
    let (status, page) = app
        .get_html(&format!("/settings/api-keys/{key}/revoke"))
        .await;
    assert_eq!(status, 200, "{page}");
    (app.cookies(), csrf_in(&page))
}

enum Revoker {
    /// `POST /api/v1/keys/revoke` with the secret.
    Public,
    /// The owner's revoke form: (cookie, csrf).
    Owner(String, String),
}

#[tokio::test]
async fn sixty_rolls_racing_revokes_of_the_same_keys_never_fail_and_every_revoke_holds() {
    const ACCOUNTS: usize = 6;
    const KEYS: usize = 10;
    let app = spawn_app_with(TestDb::new().await, |s| {
        s.scanning.revoke_per_minute = 1000;
        s.db_pool_size = 24;
    })
    .await;
    // (secret, id, roll session, revoker)
    let mut pairs = Vec::new();
    for a in 0..ACCOUNTS {
        let user = app.eligible_user_logged_in().await;
        let mut keys = Vec::new();
        for k in 0..KEYS {
            let secret = app.create_key_secret(&format!("bot-{a}-{k}")).await;
            keys.push((app.key_id_of(&secret).await, secret));
        }
        for (k, (id, secret)) in keys.into_iter().enumerate() {
            let roll = roll_session(&app, &user, id).await;
            let revoker = if k % 2 == 0 {
                Revoker::Public
            } else {
                let (cookie, csrf) = revoke_session(&app, &user, id).await;
                Revoker::Owner(cookie, csrf)
            };
            pairs.push((secret, id, roll, revoker));
        }
    }
    let n = pairs.len();
    assert!(n >= 40);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(2 * n));
    let mut tasks = tokio::task::JoinSet::new();
    for (secret, id, (cookie, csrf, rid), revoker) in &pairs {
        let (client, base) = (app.client.clone(), app.address.clone());
        let go = start.clone();
        let body = encode(&[
            ("csrf_token", csrf),
            ("grace", "24h"),
            ("expiration", "30"),
            ("request_id", rid),
        ]);
        let cookie = cookie.clone();
        let id = *id;
        tasks.spawn(async move {
            go.wait().await;
            let res = client
                .post(format!("{base}/settings/api-keys/{id}/roll"))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            ("roll", id, res.status().as_u16())
        });
        let (client, base) = (app.client.clone(), app.address.clone());
        let go = start.clone();
        let req = match revoker {
            Revoker::Public => client
                .post(format!("{base}/api/v1/keys/revoke"))
                .json(&serde_json::json!({ "keys": [secret] })),
            Revoker::Owner(cookie, csrf) => client
                .post(format!("{base}/settings/api-keys/{id}/revoke"))
                .header("cookie", cookie.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode(&[("csrf_token", csrf)])),
        };
        let what = match revoker {
            Revoker::Public => "public revoke",
            Revoker::Owner(..) => "owner revoke",
        };
        // spread over the time a roll takes, so revokes meet rolls at every stage
        let lag = std::time::Duration::from_millis(rand::random_range(0..1200));
        tasks.spawn(async move {
            go.wait().await;
            tokio::time::sleep(lag).await;
            let res = req.send().await.unwrap();
            (what, id, res.status().as_u16())
        });
    }
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let (what, id, status) = done.unwrap();
        *seen.entry((what, status)).or_insert(0) += 1;
        let expected: &[u16] = match what {
            "roll" => &[200, 409],
            "public revoke" => &[202],
            _ => &[303],
        };
        if !expected.contains(&status) {
            failures.push(format!("{what} {id}: {status}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?} (every answer: {seen:?})");
    for (secret, id, _, _) in &pairs {
        let row = app.key_row(*id).await;
        assert!(row.revoked_at.is_some(), "key {id} kept working");
        assert_eq!(me_status(&app, secret).await, 401, "key {id} still works");
    }
    let mut c = app.conn().await;
    let revoked: i64 = api_keys::table
        .filter(api_keys::revoked_at.is_not_null())
        .count()
        .get_result(&mut c)
        .await
        .unwrap();
    assert!(revoked >= n as i64);
}

// ---- 8. Limits per client, not per address ----

fn behind_proxy(s: &mut keydesk::config::Settings) {
    s.trusted_proxies = keydesk::config::parse_proxies("127.0.0.1/32").unwrap();
}

#[tokio::test]
async fn sign_ins_from_addresses_of_one_ipv6_64_share_one_limit() {
    let app = spawn_app_with(TestDb::new().await, |s| {
        behind_proxy(s);
        s.login_max_failures_per_ip = 3;
    })
    .await;
    let mut n = 0;
    let mut attempt = async |xff: &str| {
        n += 1;
        login_from(
            &app,
            xff,
            &format!("nobody{n}@example.com"),
            "wrong-password",
        )
        .await
    };
    for xff in [
        "2001:db8:aa:bb::1",
        "2001:db8:aa:bb::2",
        "2001:db8:aa:bb:1::3",
    ] {
        assert_eq!(attempt(xff).await, 401, "{xff}");
    }
    assert_eq!(attempt("2001:db8:aa:bb:ffff::9").await, 429, "same /64");
    assert_eq!(attempt("2001:db8:aa:bc::1").await, 401, "another /64");
    // an IPv4-mapped address is its IPv4 address
    for xff in ["::ffff:198.51.100.7", "198.51.100.7", "::ffff:198.51.100.7"] {
        assert_eq!(attempt(xff).await, 401, "{xff}");
    }
    assert_eq!(attempt("198.51.100.7").await, 429, "the same IPv4 client");
    assert_eq!(attempt("198.51.100.8").await, 401, "IPv4 stays exact");
}

#[tokio::test]
async fn revoke_by_secret_calls_from_one_ipv6_64_share_one_limit() {
    let app = spawn_app_with(TestDb::new().await, |s| {
        behind_proxy(s);
        s.scanning.revoke_per_minute = 2;
    })
    .await;
    let fake = keydesk::domain::PlainKey::generate().expose().to_owned();
    assert_eq!(
        revoke_by_secret_from(&app, "2001:db8:1:2::1", &[&fake]).await,
        202
    );
    assert_eq!(
        revoke_by_secret_from(&app, "2001:db8:1:2::2", &[&fake]).await,
        202
    );
    assert_eq!(
        revoke_by_secret_from(&app, "2001:db8:1:2:abcd::3", &[&fake]).await,
        429,
        "same /64"
    );
    assert_eq!(
        revoke_by_secret_from(&app, "2001:db8:1:3::1", &[&fake]).await,
        202,
        "another /64"
    );
}

#[tokio::test]
async fn password_confirmations_from_one_ipv6_64_share_one_limit() {
    let app = spawn_app_with(TestDb::new().await, |s| {
        behind_proxy(s);
        s.login_max_failures_per_ip = 3;
        s.login_max_failures = 100;
    })
    .await;
    let user = app.eligible_user_logged_in().await;
    app.age_password_entry(601).await;
    let create = async |xff: &str| {
        let (_, page) = app.get_html("/settings/api-keys/new").await;
        let (token, rid) = (csrf_in(&page), request_id_in(&page));
        let pairs = [
            ("csrf_token", token.as_str()),
            ("request_id", rid.as_str()),
            ("name", "sudo-bot"),
            ("expiration", "30"),
            ("scopes", "vm.buy.crypto"),
            ("password", "wrong-password-1"),
        ];
        post_from(&app, "/settings/api-keys", xff, &pairs).await
    };
    for xff in ["2001:db8:7:7::1", "2001:db8:7:7::2", "2001:db8:7:7::3"] {
        assert_eq!(create(xff).await, 422, "{xff}");
    }
    assert_eq!(create("2001:db8:7:7:9::4").await, 429, "same /64");
    assert_eq!(app.key_count(user.id).await, 0);
}

#[tokio::test]
async fn sixty_wrong_passwords_for_one_account_do_not_lock_the_address_out_of_another() {
    let app = spawn_app().await;
    let victim = app
        .create_user(
            "victim@example.com",
            keydesk::domain::Role::Member,
            true,
            &[],
        )
        .await;
    let other = app
        .create_user(
            "other@example.com",
            keydesk::domain::Role::Member,
            true,
            &[],
        )
        .await;
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..60 {
        let s = login_from(&app, "", &victim.email, "wrong-password").await;
        *statuses.entry(s).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&401), Some(&4), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&56), "{statuses:?}");
    assert_eq!(
        login_from(&app, "", &other.email, &other.password).await,
        303,
        "another account from the same address"
    );
}
