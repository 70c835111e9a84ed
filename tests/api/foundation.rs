//! Login, sessions, CSRF, headers, error pages, health.

use crate::helpers::*;
use keydesk::domain::Role;

fn assert_security_headers(res: &reqwest::Response) {
    let h = res.headers();
    let csp = h
        .get("content-security-policy")
        .expect("CSP")
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'self'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        csp.contains("object-src 'none'")
            && csp.contains("base-uri 'none'")
            && csp.contains("form-action 'self'")
    );
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("referrer-policy").unwrap(), "same-origin");
    assert!(h.get("cache-control").is_some());
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_including_errors() {
    let app = spawn_app().await;
    for path in ["/login", "/nope", "/healthz", "/settings/api-keys"] {
        let res = app.get(path).await;
        assert_security_headers(&res);
    }
    let res = app.get("/does-not-exist").await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Page not found") && body.contains("Reference:"),
        "{body}"
    );
    // wrong method on a known path: 405 with the same page and headers, nothing changes
    let res = app
        .client
        .put(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == 405 || res.status() == 404,
        "{}",
        res.status()
    );
    assert_security_headers(&res);
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_login() {
    let app = spawn_app().await;
    for path in [
        "/settings/api-keys",
        "/settings/api-keys/new",
        "/settings/wallets",
        "/settings/notifications",
        "/",
    ] {
        let res = app.get(path).await;
        assert_redirects_to(&res, "/login");
    }
}

#[tokio::test]
async fn login_sets_a_host_prefixed_secure_cookie_and_a_new_session_id() {
    let app = spawn_app().await;
    let user = app
        .create_user("ana@example.com", Role::Member, true, &[])
        .await;
    let (_, html) = app.get_html("/login").await;
    assert!(
        app.cookie().is_none(),
        "an anonymous view starts no session"
    );
    assert!(
        app.named_cookie("__Host-keydesk-login").is_some(),
        "the login form's token is bound to a cookie"
    );
    let token = csrf_in(&html);
    let res = app
        .post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "ANA@example.com"),
                ("password", &user.password),
            ],
        )
        .await;
    assert_redirects_to(&res, "/settings/api-keys");
    let set_cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-keydesk="))
        .expect("a session cookie");
    assert!(set_cookie.starts_with("__Host-keydesk="), "{set_cookie}");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attr), "{attr} missing: {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"));
    assert!(
        app.named_cookie("__Host-keydesk-login").is_none(),
        "the login nonce is dropped at login"
    );
    // Logging in again from a live session (fixation: a planted id) gives a new id.
    let before = app.cookie().unwrap();
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "ana@example.com"),
                ("password", &user.password),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_ne!(
        app.cookie().unwrap(),
        before,
        "session id must change at login"
    );
    let (status, body) = app.get_html("/settings/api-keys").await;
    assert_eq!(status, 200);
    assert!(body.contains("ana@example.com"));
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let user = app
        .create_user("ana@example.com", Role::Member, true, &[])
        .await;
    let wrong = app.login(&user.email, "not-the-password").await;
    let (ws, wbody) = (wrong.status(), wrong.text().await.unwrap());
    let unknown = app.login("nobody@example.com", "whatever").await;
    let (us, ubody) = (unknown.status(), unknown.text().await.unwrap());
    assert_eq!(ws, 401);
    assert_eq!(ws, us);
    assert!(
        wbody.contains("That e-mail and password don&#39;t match an account."),
        "{wbody}"
    );
    assert!(
        ubody.contains("That e-mail and password don&#39;t match an account."),
        "{ubody}"
    );
    // every attempt is audited, without the password
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use keydesk::db::schema::audit_events;
    let mut c = app.conn().await;
    let details: Vec<serde_json::Value> = audit_events::table
        .filter(audit_events::action.eq("login.failed"))
        .select(audit_events::detail)
        .load(&mut c)
        .await
        .unwrap();
    assert_eq!(details.len(), 2);
    assert!(
        !details
            .iter()
            .any(|d| d.to_string().contains("not-the-password"))
    );
}

#[tokio::test]
async fn repeated_failures_throttle_that_account_only() {
    let app = spawn_app().await;
    let victim = app
        .create_user("victim@example.com", Role::Member, true, &[])
        .await;
    let other = app
        .create_user("other@example.com", Role::Member, true, &[])
        .await;
    let mut last = 0;
    for _ in 0..5 {
        last = app.login(&victim.email, "wrong").await.status().as_u16();
    }
    assert_eq!(last, 429);
    // even the right password is refused while throttled, with Retry-After
    let res = app.login(&victim.email, &victim.password).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900);
    // another account is unaffected
    assert_eq!(app.login(&other.email, &other.password).await.status(), 303);
}

#[tokio::test]
async fn logout_deletes_the_session_so_a_replayed_cookie_is_anonymous() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let cookie = app.cookie().unwrap();
    let token = app.csrf().await;
    let res = app.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), 303);
    app.set_cookie(Some(cookie));
    let res = app.get("/settings/api-keys").await;
    assert_eq!(res.status(), 303, "replayed cookie must not be logged in");
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = spawn_app().await;
    let user = app
        .create_user("ana@example.com", Role::Member, true, &[])
        .await;
    app.get("/login").await;
    for token in ["", "wrong-token"] {
        let res = app
            .post_form(
                "/login",
                &[
                    ("csrf_token", token),
                    ("email", &user.email),
                    ("password", &user.password),
                ],
            )
            .await;
        assert_eq!(res.status(), 403);
        assert!(app.cookie().is_none(), "not signed in");
        // The sign-in form comes back with its own message (ux.rs has the details).
        let body = res.text().await.unwrap();
        assert!(body.contains("The sign-in form expired"), "{body}");
    }
    // Other forms get the generic page.
    app.eligible_user_logged_in().await;
    for token in ["", "wrong-token"] {
        let res = app
            .post_form(
                "/settings/time-zone",
                &[("csrf_token", token), ("time_zone", "UTC")],
            )
            .await;
        assert_eq!(res.status(), 403);
        let body = res.text().await.unwrap();
        assert!(body.contains("This form has expired"), "{body}");
    }
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_the_handler() {
    let app = spawn_app().await;
    let user = app
        .create_user("ana@example.com", Role::Member, true, &[])
        .await;
    let (_, html) = app.get_html("/login").await;
    let token = csrf_in(&html);
    let body = format!(
        "csrf_token={token}&email={}&password={}",
        user.email, user.password
    );
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
        ("origin", "null"),
    ] {
        let res = app
            .client
            .post(format!("{}/login", app.address))
            .header("cookie", app.cookies())
            .header("content-type", "application/x-www-form-urlencoded")
            .header(name, value)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
        // the generic page: a cross-site post's input is never shown back
        let page = res.text().await.unwrap();
        assert!(page.contains("This form has expired"), "{page}");
        assert!(!page.contains(&user.email), "{page}");
    }
    // a same-origin browser post passes
    let res = app
        .client
        .post(format!("{}/login", app.address))
        .header("cookie", app.cookies())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("origin", "null")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_on_the_server() {
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| s.session_idle = std::time::Duration::from_secs(2)).await;
    app.eligible_user_logged_in().await;
    assert_eq!(app.get("/settings/api-keys").await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    assert_eq!(app.get("/settings/api-keys").await.status(), 303);
}

#[tokio::test]
async fn sessions_end_at_the_absolute_timeout_even_when_busy() {
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| {
        s.session_idle = std::time::Duration::from_secs(60);
        s.session_absolute = std::time::Duration::from_secs(3);
    })
    .await;
    app.eligible_user_logged_in().await;
    for _ in 0..4 {
        assert_eq!(app.get("/settings/api-keys").await.status(), 200);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.get("/settings/api-keys").await.status(), 303);
}

#[tokio::test]
async fn sessions_survive_an_app_restart_and_only_a_hash_is_stored() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let cookie = app.cookie().unwrap();
    // a second instance with the same settings and database accepts the session
    let db2 = TestDb {
        name: app.db.name.clone(),
    };
    let app2 = spawn_on(db2, app.settings.clone()).await;
    app2.set_cookie(Some(cookie.clone()));
    assert_eq!(app2.get("/settings/api-keys").await.status(), 200);
    std::mem::forget(app2); // shares app's database; app drops it
    // the table holds 32-byte hashes, never the cookie's session id
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use keydesk::db::schema::sessions;
    let mut c = app.conn().await;
    let ids: Vec<Vec<u8>> = sessions::table
        .select(sessions::id_hash)
        .load(&mut c)
        .await
        .unwrap();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|h| h.len() == 32));
}

#[tokio::test]
async fn oversized_and_wrongly_typed_forms_are_refused_cleanly() {
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    let token = app.csrf().await;
    let big = "x".repeat(64 * 1024);
    let res = app
        .post_form(
            "/settings/api-keys",
            &[("csrf_token", &token), ("name", &big)],
        )
        .await;
    assert_eq!(res.status(), 413);
    let res = app
        .client
        .post(format!("{}/settings/api-keys", app.address))
        .header("cookie", app.cookie().unwrap())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

#[tokio::test]
async fn a_database_outage_gives_503_pages_not_500_and_not_login_failures() {
    let db = TestDb::new().await;
    // Point the app at a port where nothing listens: the database is "down".
    let mut settings = test_settings(&db.url());
    let url = db.url();
    let (head, tail) = url.rsplit_once('@').unwrap();
    let (_, dbname) = tail.split_once('/').unwrap();
    settings.database_url = keydesk::config::Secret::new(format!("{head}@127.0.0.1:1/{dbname}"));
    settings.db_timeout = std::time::Duration::from_millis(500);
    let app = spawn_on(db, settings).await;
    let started = std::time::Instant::now();
    // The login form itself needs no database; signing in does.
    let token = app.csrf().await;
    let res = app
        .post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "a@b.c"),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some());
    assert!(res.headers().get("content-security-policy").is_some());
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Temporarily unavailable") && body.contains("Reference:"),
        "{body}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);
    let key = keydesk::domain::PlainKey::generate();
    let res = app.me(Some(&format!("Bearer {}", key.expose()))).await;
    assert_eq!(
        res.status(),
        503,
        "never 401 or 200 while the database is down"
    );
    assert!(res.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408_and_the_server_moves_on() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| s.body_deadline = std::time::Duration::from_secs(1)).await;
    app.eligible_user_logged_in().await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /settings/api-keys HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ncsrf_token=",
        app.cookie().unwrap()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn viewing_a_page_does_not_write_the_session() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use keydesk::db::schema::sessions;
    let app = spawn_app().await;
    app.eligible_user_logged_in().await;
    app.get("/settings/api-keys").await;
    let mut c = app.conn().await;
    let before: serde_json::Value = sessions::table
        .select(sessions::state)
        .first(&mut c)
        .await
        .unwrap();
    let x1 = xmin(&mut c).await;
    for _ in 0..5 {
        assert_eq!(app.get("/settings/api-keys").await.status(), 200);
    }
    let x2 = xmin(&mut c).await;
    assert_eq!(x1, x2, "no row version change");
    let after: serde_json::Value = sessions::table
        .select(sessions::state)
        .first(&mut c)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[derive(diesel::QueryableByName)]
struct XminRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    j: String,
}

async fn xmin(c: &mut diesel_async::AsyncPgConnection) -> Vec<String> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query("SELECT xmin::text AS j FROM sessions ORDER BY id_hash")
        .load::<XminRow>(c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.j)
        .collect()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let db = TestDb::new().await;
    let app = spawn_app_with(db, |s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap())
    })
    .await;
    app.eligible_user_logged_in().await;
    let secret = app.create_key_secret("metered").await;
    for _ in 0..3 {
        app.me(Some(&format!("Bearer {secret}"))).await;
    }
    app.me(Some("Bearer phy_nope")).await;
    app.me(None).await;
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "not on the public port"
    );
    let url = app.metrics_url.clone().unwrap();
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    for (name, labels, value) in [
        (
            "keydesk_http_requests_total",
            &[
                ("route", "/api/v1/me"),
                ("method", "GET"),
                ("status", "200"),
            ][..],
            "3",
        ),
        (
            "keydesk_http_requests_total",
            &[
                ("route", "/api/v1/me"),
                ("method", "GET"),
                ("status", "401"),
            ],
            "2",
        ),
        ("keydesk_key_verifications_total", &[("outcome", "ok")], "3"),
        (
            "keydesk_key_verifications_total",
            &[("outcome", "malformed")],
            "1",
        ),
        (
            "keydesk_key_verifications_total",
            &[("outcome", "missing")],
            "1",
        ),
        ("keydesk_db_pool_waiting", &[], "0"),
        ("keydesk_key_verification_duration_seconds_count", &[], "3"),
    ] {
        assert_eq!(
            sample(&text, name, labels).as_deref(),
            Some(value),
            "{name}{labels:?} in:\n{text}"
        );
    }
    assert!(
        sample(
            &text,
            "keydesk_http_requests_total",
            &[
                ("route", "/settings/api-keys"),
                ("method", "POST"),
                ("status", "200")
            ]
        )
        .is_some()
    );
    assert!(text.contains("keydesk_last_used_flush_lag_seconds "));
    assert!(!text.contains(&secret[4..]), "no key material in metrics");
}

#[tokio::test]
async fn oversized_request_heads_get_431_and_the_server_stays_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let big_one = format!(
        "GET /login HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let many: String = (0..300).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET /login HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    for req in [big_one, many] {
        for _ in 0..20 {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let _ = s.write_all(req.as_bytes()).await;
            let mut buf = vec![0u8; 256];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            assert!(head.starts_with("HTTP/1.1 431"), "{head}");
        }
    }
    assert_eq!(app.get("/healthz").await.status(), 200);
}

/// The value of the Prometheus sample `name` whose labels include `labels` (in any order).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<String> {
    text.lines().find_map(|line| {
        let (head, value) = line.rsplit_once(' ')?;
        let (metric, rest) = match head.split_once('{') {
            Some((m, r)) => (m, r.trim_end_matches('}')),
            None => (head, ""),
        };
        let ok = metric == name
            && labels
                .iter()
                .all(|(k, v)| rest.split(',').any(|p| p == format!("{k}=\"{v}\"")));
        ok.then(|| value.to_owned())
    })
}
