//! The holes an adversarial review found, each closed and proven here (issue #19): parallel
//! password guessing, the per-IP throttle and the bounded hashing queue, session resurrection,
//! silent bodies, the configured public origin, anonymous writes and pruning, long input, a
//! key in a URL, and the API's declared methods. (Junk methods and RSS: `logs.rs`.)

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use keydesk::db::audit;
use keydesk::db::schema::{login_throttle, sessions, wallet_challenges};
use keydesk::domain::Role;

fn login_body(token: &str, email: &str, password: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf_token", token),
            ("email", email),
            ("password", password),
        ])
        .finish()
}

/// Posts a login with the jar's cookies and returns the status.
async fn post_login(app: &TestApp, body: String) -> reqwest::Response {
    app.client
        .post(format!("{}/login", app.address))
        .header("cookie", app.cookies())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sixty_parallel_guesses_get_at_most_the_limit_checked() {
    let app = spawn_app().await;
    let victim = app
        .create_user("victim@example.com", Role::Member, true, &[])
        .await;
    let token = app.csrf().await;
    let body = login_body(&token, &victim.email, "wrong-password");
    let statuses: Vec<u16> = join_all((0..60).map(|_| post_login(&app, body.clone())))
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        wrong <= 5,
        "{wrong} guesses answered 'wrong password': {statuses:?}"
    );
    assert_eq!(wrong + throttled, 60, "{statuses:?}");
    let mut c = app.conn().await;
    let checked = audit::list_for_account_action(&mut c, victim.id, action("login.failed"))
        .await
        .unwrap();
    assert!(
        checked.len() <= 5,
        "{} passwords were checked",
        checked.len()
    );
    // the right password is refused too while the lock holds
    let res = post_login(&app, login_body(&token, &victim.email, &victim.password)).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn one_client_cannot_guess_across_many_accounts() {
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| s.login_max_failures_per_ip = 3).await;
    let token = app.csrf().await;
    for i in 0..3 {
        let res = post_login(&app, login_body(&token, &format!("n{i}@example.com"), "x")).await;
        assert_eq!(res.status(), 401);
    }
    let res = post_login(&app, login_body(&token, "n9@example.com", "x")).await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("from your network"));
    // the accounts themselves were not locked by the client's guesses
    let mut c = app.conn().await;
    let locked: i64 = login_throttle::table
        .filter(login_throttle::locked_until.is_not_null())
        .count()
        .get_result(&mut c)
        .await
        .unwrap();
    assert_eq!(locked, 0);
}

#[tokio::test]
async fn the_password_check_queue_is_bounded() {
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| {
        s.login_queue = 1;
        s.login_max_failures = 1000;
        s.login_max_failures_per_ip = 1000;
    })
    .await;
    let token = app.csrf().await;
    let responses = join_all((0..20).map(|i| {
        post_login(
            &app,
            login_body(&token, &format!("q{i}@example.com"), "wrong"),
        )
    }))
    .await;
    let busy: Vec<_> = responses.iter().filter(|r| r.status() == 503).collect();
    assert!(
        !busy.is_empty(),
        "20 parallel logins with one place: some must be refused"
    );
    assert!(
        busy.iter()
            .all(|r| r.headers().get("retry-after").is_some())
    );
    assert!(
        responses
            .iter()
            .all(|r| [401, 503].contains(&r.status().as_u16())),
        "only 'wrong password' or 'busy'"
    );
}

#[tokio::test]
async fn a_logout_during_a_slow_post_does_not_bring_the_session_back() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let cookie = app.cookie().unwrap();
    let token = app.csrf().await;
    let body = format!("csrf_token={token}&time_zone=Europe%2FBerlin");
    let (first, rest) = body.split_at(10);
    // a POST whose body arrives slowly: the session is loaded, then the user logs out
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /settings/time-zone HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{first}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), 303);
    s.write_all(rest.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 303"), "{out}");
    // whatever cookie came back names no live session
    let returned = out
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: __Host-keydesk="))
        .map(|v| format!("__Host-keydesk={}", v.split(';').next().unwrap()))
        .unwrap_or(cookie);
    app.set_cookie(Some(returned));
    let res = app.get("/settings/api-keys").await;
    assert_eq!(res.status(), 303, "the session stays ended");
    let mut c = app.conn().await;
    let live: i64 = sessions::table.count().get_result(&mut c).await.unwrap();
    assert_eq!(live, 0, "no session row was re-created");
}

#[tokio::test]
async fn silent_introspection_bodies_are_dropped_at_the_deadline() {
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| s.body_deadline = Duration::from_secs(1)).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let token = app.settings.introspection_token.expose().clone();
    let started = std::time::Instant::now();
    let answers = join_all((0..200).map(|i| {
        let addr = addr.clone();
        let token = token.clone();
        async move {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            // half with the right caller token (the body is awaited, then dropped at the
            // deadline), half without (refused before any body is read)
            let auth = if i % 2 == 0 { token.as_str() } else { "wrong" };
            let head = format!(
                "POST /api/v1/introspect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {auth}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; 512];
            let n = tokio::time::timeout(Duration::from_secs(8), s.read(&mut buf))
                .await
                .expect("the connection was left open")
                .unwrap_or(0);
            String::from_utf8_lossy(&buf[..n]).to_string()
        }
    }))
    .await;
    for (i, a) in answers.iter().enumerate() {
        let want = if i % 2 == 0 {
            "HTTP/1.1 408"
        } else {
            "HTTP/1.1 401"
        };
        assert!(a.starts_with(want), "{i}: {a}");
    }
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[tokio::test]
async fn the_challenge_names_the_configured_origin_not_a_forwarded_host() {
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| {
        s.public_url = keydesk::config::PublicUrl::parse("https://phygitals.example").unwrap()
    })
    .await;
    app.eligible_user_logged_in().await;
    let token = app.csrf().await;
    let res = app
        .client
        .post(format!("{}/settings/wallets/challenge", app.address))
        .header("cookie", app.cookies())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "host=evil.example;proto=https")
        .body(format!("csrf_token={token}&address={}", wallet_address()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()
            .get("strict-transport-security")
            .is_some_and(|v| v.to_str().unwrap().contains("max-age=")),
        "https public URL: HSTS"
    );
    let page = res.text().await.unwrap();
    assert!(
        page.contains("phygitals.example wants you to link"),
        "{page}"
    );
    assert!(page.contains("URI: https://phygitals.example/settings/wallets"));
    assert!(!page.contains("evil.example"));
    // an Origin that is not the configured one is cross-site
    let res = app
        .client
        .post(format!("{}/settings/time-zone", app.address))
        .header("cookie", app.cookies())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", app.address.clone())
        .body(format!("csrf_token={token}&time_zone=UTC"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        403,
        "the request's own host is not the public origin"
    );
}

#[tokio::test]
async fn plain_http_sends_no_hsts_and_forwarded_for_counts_only_from_trusted_proxies() {
    let app = spawn_app().await;
    let res = app.get("/login").await;
    assert!(res.headers().get("strict-transport-security").is_none());
    let user = app
        .create_user("p@example.com", Role::Member, true, &[])
        .await;
    let token = app.csrf().await;
    let forged = |app: &TestApp, token: &str| {
        app.client
            .post(format!("{}/login", app.address))
            .header("cookie", app.cookies())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", "203.0.113.7")
            .body(login_body(token, "p@example.com", "wrong"))
            .send()
    };
    forged(&app, &token).await.unwrap();
    assert_eq!(
        last_failed_login_ip(&app, user.id).await.as_deref(),
        Some("127.0.0.1")
    );

    let db = TestDb::new().await;
    let proxied = spawn_app_with(db, |s| {
        s.trusted_proxies = keydesk::config::parse_proxies("127.0.0.1").unwrap()
    })
    .await;
    let user2 = proxied
        .create_user("p@example.com", Role::Member, true, &[])
        .await;
    let token = proxied.csrf().await;
    forged(&proxied, &token).await.unwrap();
    assert_eq!(
        last_failed_login_ip(&proxied, user2.id).await.as_deref(),
        Some("203.0.113.7")
    );
}

async fn last_failed_login_ip(app: &TestApp, account: uuid::Uuid) -> Option<String> {
    let mut c = app.conn().await;
    audit::list_for_account_action(&mut c, account, action("login.failed"))
        .await
        .unwrap()
        .last()
        .and_then(|e| e.ip.clone())
}

#[tokio::test]
async fn anonymous_login_views_write_no_rows_and_the_form_still_works() {
    let app = spawn_app().await;
    let user = app
        .create_user("anon@example.com", Role::Member, true, &[])
        .await;
    for _ in 0..300 {
        app.set_cookie(None);
        assert_eq!(app.get("/login").await.status(), 200);
    }
    let mut c = app.conn().await;
    let rows: i64 = sessions::table.count().get_result(&mut c).await.unwrap();
    assert_eq!(rows, 0, "anonymous views wrote session rows");
    // a token from one browser's nonce does not pass with another's
    let token = app.csrf().await;
    app.set_cookie(None);
    app.get("/login").await;
    let res = post_login(&app, login_body(&token, &user.email, &user.password)).await;
    assert_eq!(
        res.status(),
        403,
        "token bound to the other browser's cookie"
    );
    // without any cookie the token proves nothing
    let res = app
        .client
        .post(format!("{}/login", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(login_body(&token, &user.email, &user.password))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app.login(&user.email, &user.password).await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn pruning_removes_expired_rows_and_keeps_live_ones() {
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| s.prune_interval = Duration::from_secs(1)).await;
    let user = app.eligible_user_logged_in().await; // one live session
    let mut c = app.conn().await;
    diesel::sql_query(
        "INSERT INTO sessions (id_hash, state, expires_at, absolute_expires_at)
         SELECT decode(md5(g::text), 'hex'), '{}', now() - interval '1 minute', now()
           FROM generate_series(1, 2500) g",
    )
    .execute(&mut c)
    .await
    .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO wallet_challenges (account_id, address, message, issued_at, expires_at)
         VALUES ('{0}', 'a', 'm', now() - interval '3 days', now() - interval '2 days'),
                ('{0}', 'b', 'm', now(), now() + interval '10 minutes')",
        user.id
    ))
    .execute(&mut c)
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO login_throttle (email_lower, failures, window_start)
         VALUES ('old@example.com', 3, now() - interval '1 day'),
                ('new@example.com', 3, now());
         ",
    )
    .execute(&mut c)
    .await
    .unwrap();
    // the task runs every second here
    let mut left = (0, 0, 0);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = (
            sessions::table
                .count()
                .get_result::<i64>(&mut c)
                .await
                .unwrap(),
            wallet_challenges::table
                .count()
                .get_result::<i64>(&mut c)
                .await
                .unwrap(),
            login_throttle::table
                .count()
                .get_result::<i64>(&mut c)
                .await
                .unwrap(),
        );
        if left == (1, 1, 1) {
            break;
        }
    }
    assert_eq!(
        left,
        (1, 1, 1),
        "(sessions, challenges, throttle rows) left"
    );
    assert_eq!(
        app.get("/settings/api-keys").await.status(),
        200,
        "the live session survived"
    );
}

#[tokio::test]
async fn over_long_fields_are_refused_with_a_4xx_before_any_query() {
    let app = spawn_app().await;
    let long = "a".repeat(3_200);
    let token = app.csrf().await;
    let res = post_login(
        &app,
        login_body(&token, &format!("{long}@example.com"), "x"),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("E-mail is too long"));
    let res = post_login(
        &app,
        login_body(&token, "a@example.com", &"p".repeat(2_000)),
    )
    .await;
    assert_eq!(res.status(), 422);

    let user = app.eligible_user_logged_in().await;
    let token = app.csrf().await;
    app.create_key_secret("bot").await;
    let id = key_id(&app, user.id).await;
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/settings/api-keys".into(),
            vec![("name", &long), ("request_id", "")],
        ),
        (
            format!("/settings/api-keys/{id}/name"),
            vec![("name", &long)],
        ),
        (
            format!("/settings/api-keys/{id}/expiration"),
            vec![("expiration", &long), ("custom_expiration", &long)],
        ),
        (
            "/settings/wallets/challenge".into(),
            vec![("address", &long)],
        ),
        (
            "/settings/wallets".into(),
            vec![
                ("challenge_id", &long),
                ("address", &long),
                ("signature", &long),
            ],
        ),
        ("/settings/time-zone".into(), vec![("time_zone", &long)]),
        (
            "/settings/notifications".into(),
            vec![("expiry.email", &long), (&long, "on")],
        ),
        (
            "/settings/notifications/webhook".into(),
            vec![("url", &long)],
        ),
        (
            "/settings/notifications/alerts".into(),
            vec![
                ("key", &long),
                ("kind", &long),
                ("threshold", &long),
                ("min_requests", &long),
            ],
        ),
        (format!("/settings/notices/{id}/dismiss"), vec![]),
    ];
    for (path, fields) in posts {
        let mut pairs = vec![("csrf_token", token.as_str())];
        pairs.extend(fields);
        let status = app.post_form(&path, &pairs).await.status().as_u16();
        assert!(
            (400..500).contains(&status) || status == 303,
            "{path}: {status}"
        );
    }
    let staff = app
        .create_user("staff@example.com", Role::Support, false, &[])
        .await;
    app.login(&staff.email, &staff.password).await;
    let token = app.csrf().await;
    let res = app
        .post_form("/support", &[("csrf_token", &token), ("q", &long)])
        .await;
    assert_eq!(res.status(), 422);
    let (status, _) = app.get_html(&format!("/support?q={long}")).await;
    assert_eq!(status, 422);
}

async fn key_id(app: &TestApp, account: uuid::Uuid) -> uuid::Uuid {
    use keydesk::db::schema::api_keys;
    let mut c = app.conn().await;
    api_keys::table
        .filter(api_keys::account_id.eq(account))
        .select(api_keys::id)
        .first(&mut c)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_whole_key_never_travels_in_a_support_url() {
    let app = spawn_app().await;
    let ana = app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("bot").await;
    let staff = app
        .create_user("staff@example.com", Role::Support, false, &[])
        .await;
    app.login(&staff.email, &staff.password).await;
    let (status, page) = app.get_html(&format!("/support?q={secret}")).await;
    assert_eq!(status, 400);
    assert!(!page.contains(&secret[12..]), "the key is not echoed");
    assert!(page.contains("paste it into the search box"));

    let token = app.csrf().await;
    let res = app
        .post_form("/support", &[("csrf_token", &token), ("q", &secret)])
        .await;
    assert_eq!(res.status(), 303);
    let location = res
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(location, format!("/support/accounts/{}", ana.id));
    let (_, page) = app.get_html(&location).await;
    assert!(page.contains("looked up by its hash"));
    assert!(!page.contains(&secret[12..]));

    let other = keydesk::domain::PlainKey::generate();
    let res = app
        .post_form("/support", &[("csrf_token", &token), ("q", other.expose())])
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("No account has this key"));
    assert!(!page.contains(&other.expose()[12..]));

    // anything else is redirected to bookmarkable results
    let res = app
        .post_form("/support", &[("csrf_token", &token), ("q", "ana")])
        .await;
    assert_redirects_to(&res, "/support?q=ana");
}

#[tokio::test]
async fn api_routes_answer_undeclared_methods_with_405_and_allow() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        ("TRACE", "/api/v1/me", "GET"),
        ("POST", "/api/v1/me", "GET"),
        ("DELETE", "/api/v1/me", "GET"),
        ("GET", "/api/v1/introspect", "POST"),
        ("PUT", "/api/v1/introspect", "POST"),
    ] {
        let res = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", app.address),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert_eq!(res.headers().get("allow").unwrap(), allow);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
    }
    let auth = format!("Bearer {}", app.settings.introspection_token.expose());
    for body in ["", "token_type_hint=access_token"] {
        let res = app
            .client
            .post(format!("{}/api/v1/introspect", app.address))
            .header("authorization", &auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body:?}");
        let json: serde_json::Value = res.json().await.unwrap();
        assert_eq!(json["error"], "invalid_request");
    }
}

/// A valid (base58 of an ed25519 public key) wallet address.
fn wallet_address() -> String {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    bs58::encode(key.verifying_key().as_bytes()).into_string()
}
